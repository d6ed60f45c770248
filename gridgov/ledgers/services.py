"""Ledger (台账) import and export.

Import is all-or-nothing: every row and column is validated first; if any
problem is found, ``ImportRejected`` carries the full report (row, column,
message) and nothing is written. Otherwise everything is written with bulk
inserts in one transaction, and one audit row records the import.

Export masks personal data by default; an unmasked export needs the
``reveal_pii`` capability and a reason, and writes a PiiAccessLog row.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db import DatabaseError, IntegrityError, transaction
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop, ngettext

from gridgov.accounts import capabilities as caps
from gridgov.accounts.models import PiiAccessLog
from gridgov.core.audit import audit
from gridgov.core.errors import NotFound, ValidationFailed
from gridgov.core.scope import user_scope_path
from gridgov.ledgers.base import Context, Problem, Progress, Row
from gridgov.ledgers.kinds import KINDS, GridsKind, Kind, parse_geojson
from gridgov.ledgers.tables import TableError, read_table, write_table


class ImportRejected(ValidationFailed):
    """The file has problems; ``problems`` lists every one. Nothing was imported."""

    def __init__(self, problems: list[Problem]) -> None:
        first = problems[0]
        super().__init__(
            ngettext(
                "文件有 %(n)s 处问题，未导入任何数据",
                "文件有 %(n)s 处问题，未导入任何数据",
                len(problems),
            )
            % {"n": len(problems)},
            field=first.column,
            row=first.row,
            details=[p.as_dict() for p in problems],
        )
        self.problems = problems


COUNT_LABELS = {
    "regions": gettext_noop("辖区"),
    "grids": gettext_noop("网格"),
    "polygons": gettext_noop("其中有范围的网格"),
    "houses": gettext_noop("房屋"),
    "residents": gettext_noop("居民"),
    "occupancies": gettext_noop("居住记录"),
    "businesses": gettext_noop("商铺企业"),
    "party_orgs": gettext_noop("党组织"),
    "party_members": gettext_noop("党员"),
    "partner_units": gettext_noop("新登记共建单位"),
}


@dataclass
class ImportResult:
    kind: str
    rows: int
    counts: dict[str, int]
    notes: list[str] = field(default_factory=list)

    @property
    def summary(self) -> list[tuple[str, int]]:
        """The counts with their names in the reader's language."""
        return [(_(COUNT_LABELS[k]) if k in COUNT_LABELS else k, v) for k, v in self.counts.items()]


def kind_get(key: str) -> Kind:
    try:
        return KINDS[key]
    except KeyError:
        raise NotFound(_("没有这种台账")) from None


def ledger_template(*, kind: str, fmt: str) -> bytes:
    """A template: the header row; the example row sits in a second sheet (xlsx) or a
    comment line starting with "#" (csv), which import skips."""
    spec = kind_get(kind)
    cols = spec.columns
    text_cols = [i for i, c in enumerate(cols) if c.text]
    if fmt == "csv":
        example = [c.example for c in cols]
        example[0] = "#示例:" + example[0]
        return write_table("csv", spec.headers, [example])
    notes = [["列名", "必填", "示例", "说明"]]
    notes += [[c.header, "是" if c.required else "", c.example, c.help] for c in cols]
    notes += [
        [],
        ["示例行（复制到第一张表时请去掉本说明）"],
        spec.headers,
        [c.example for c in cols],
    ]
    notes += [[n] for n in spec.notes]
    return write_table(
        "xlsx",
        spec.headers,
        [],
        sheet_title=f"{spec.label}导入模板",
        notes=notes,
        text_columns=text_cols,
    )


def _check_headers(spec: Kind, headers: list[str]) -> list[Problem]:
    problems = []
    seen: set[str] = set()
    for h in headers:
        if h and h in seen and h in spec.headers:
            problems.append(Problem(1, h, (_("表头“%(v0)s”重复") % {"v0": h})))
        seen.add(h)
    for col in spec.columns:
        if col.required and col.header not in headers:
            problems.append(Problem(1, col.header, (_("缺少必填列“%(v0)s”") % {"v0": col.header})))
    return problems


def ledger_validate(
    *,
    actor: Any,
    kind: str,
    data: bytes,
    filename: str,
    geojson: bytes | None = None,
    progress: Progress | None = None,
) -> tuple[Context, list[Any]]:
    """Check every row; return the context (with problems) and the parsed items."""
    spec = kind_get(kind)
    ctx = Context(actor=actor, progress=progress)
    try:
        table = read_table(data, filename)
    except TableError as exc:
        ctx.err(None, "文件", str(exc))
        return ctx, []
    ctx.problems.extend(_check_headers(spec, table.headers))
    if ctx.problems:
        return ctx, []
    # A column the ledger does not know (a typo in a header, a column of one's own) is not
    # imported: the result says so, rather than dropping it without a word.
    unknown = [h for h in dict.fromkeys(table.headers) if h and h not in spec.headers]
    if unknown:
        ctx.notes.append(_("以下列不属于本台账，未导入：%(v0)s") % {"v0": "、".join(unknown)})
    if not table.rows:
        ctx.err(None, "文件", _("文件中没有数据行"))
        return ctx, []
    if geojson is not None:
        if not isinstance(spec, GridsKind):
            ctx.err(None, "GeoJSON", _("只有网格台账可以附带 GeoJSON 文件"))
        else:
            ctx.geojson = parse_geojson(geojson, ctx)
    index = {h: i for i, h in reversed(list(enumerate(table.headers)))}
    rows = []
    seen: dict[tuple[str, ...], int] = {}
    for number, cells in table.rows:
        values = {
            h: (cells[i] if i < len(cells) else "") for h, i in index.items() if h in spec.headers
        }
        row = Row(number, values)
        for col in spec.columns:
            if col.required and not row.get(col.header):
                ctx.err(row, col.header, (_("“%(v0)s”不能为空") % {"v0": col.header}))
            if col.max_length is not None and len(row.get(col.header)) > col.max_length:
                ctx.err(
                    row,
                    col.header,
                    _("“%(v0)s”过长（最多%(n)s个字）") % {"v0": col.header, "n": col.max_length},
                )
        key = spec.row_key(row)
        if key is not None and all(key):
            if key in seen:
                ctx.err(
                    row,
                    spec.key_headers(row)[0],
                    (
                        _("与第 %(v0)s 行重复（%(v1)s）")
                        % {"v0": seen[key], "v1": "、".join(spec.key_headers(row))}
                    ),
                )
            else:
                seen[key] = number
        rows.append(row)
    items = spec.parse(rows, ctx)
    ctx.problems.sort(key=lambda p: (p.row is not None, p.row or 0))
    return ctx, items


def ledger_import(
    *,
    actor: Any,
    kind: str,
    data: bytes,
    filename: str,
    geojson: bytes | None = None,
    progress: Progress | None = None,
) -> ImportResult:
    """Validate the whole file, then import all rows in one transaction (or none).

    Requires ``import_ledgers``; every referenced region must lie in the actor's
    jurisdiction (rows outside it are problems). Raises ImportRejected with the
    full report when any row or column is wrong.
    """
    caps.require_cap(actor, caps.IMPORT_LEDGERS)
    if user_scope_path(actor) is None:
        raise NotFound(_("您没有管辖范围"))
    ctx, items = ledger_validate(
        actor=actor, kind=kind, data=data, filename=filename, geojson=geojson, progress=progress
    )
    if ctx.problems:
        raise ImportRejected(ctx.problems)
    spec = kind_get(kind)
    try:
        with transaction.atomic():
            counts = spec.write(items, ctx)
            audit(
                actor=actor,
                action="ledgers.import",
                target=actor,
                region_path=user_scope_path(actor) or "",
                data={"kind": kind, "file": filename[:128], "rows": len(items), **counts},
            )
    except IntegrityError as exc:  # a concurrent change took a key between check and write
        raise ImportRejected(
            [Problem(None, "文件", (_("写入时发生冲突，未导入任何数据：%(v0)s") % {"v0": exc}))]
        ) from exc
    except DatabaseError as exc:
        raise ImportRejected([Problem(None, "文件", _("数据库写入失败，未导入任何数据"))]) from exc
    return ImportResult(kind=kind, rows=len(items), counts=counts, notes=ctx.notes)


def _pii_headers(spec: Kind) -> list[str]:
    return [c.header for c in spec.columns if c.mask is not None]


def ledger_export(
    *, actor: Any, kind: str, fmt: str, unmasked: bool = False, reason: str = ""
) -> bytes:
    """The kind's rows in the actor's jurisdiction as .xlsx or .csv (masked by default).

    An unmasked export requires ``reveal_pii`` and a reason; it is logged.
    """
    caps.require_cap(actor, caps.EXPORT_LEDGERS)
    spec = kind_get(kind)
    if fmt not in ("xlsx", "csv"):
        raise ValidationFailed(_("导出格式只能是 xlsx 或 csv"), field="format")
    scope = user_scope_path(actor)
    if scope is None:
        raise NotFound(_("您没有管辖范围"))
    pii = _pii_headers(spec)
    if unmasked and pii:
        caps.require_cap(actor, caps.REVEAL_PII)
        reason = (reason or "").strip()
        if not reason:
            raise ValidationFailed(_("导出完整个人信息须填写事由"), field="reason")
        PiiAccessLog.objects.create(
            actor=actor,
            subject_type=f"ledgers.{kind}",
            subject_id="export",
            subject_label=f"{spec.label}台账导出",
            fields=",".join(pii)[:255],
            reason=reason[:255],
            region_path=scope,
        )
    masks = [c.mask if (c.mask and not unmasked) else None for c in spec.columns]

    def rows() -> Any:
        for values in spec.export(actor):
            yield [m(v) if m and v else v for m, v in zip(masks, values, strict=True)]

    audit(
        actor=actor,
        action="ledgers.export",
        target=actor,
        region_path=scope,
        data={"kind": kind, "format": fmt, "unmasked": bool(unmasked and pii)},
    )
    # A ledger file is written in the files' language (Chinese: its headers, its choices),
    # whoever exports it, so that it goes back in through any user's import.
    with translation.override(settings.LANGUAGE_CODE):
        return write_table(
            fmt,
            spec.headers,
            rows(),
            sheet_title=f"{spec.label}台账",
            text_columns=[i for i, c in enumerate(spec.columns) if c.text],
        )


def grids_geojson_export(*, actor: Any) -> bytes:
    """The polygons of the grids in the actor's jurisdiction as a FeatureCollection."""
    caps.require_cap(actor, caps.EXPORT_LEDGERS)
    if user_scope_path(actor) is None:
        raise NotFound(_("您没有管辖范围"))
    return GridsKind.export_geojson(actor)
