"""`manage.py ledger import|export <kind> <file> --as <username>`: ledgers from the shell."""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from gridgov.accounts.models import User
from gridgov.core.errors import DomainError
from gridgov.ledgers.kinds import KINDS
from gridgov.ledgers.services import (
    ImportRejected,
    grids_geojson_export,
    ledger_export,
    ledger_import,
)
from gridgov.ledgers.tables import size_problem


class _Bar:
    """A plain-text progress bar on stderr, redrawn in place."""

    def __init__(self, stream: Any) -> None:
        self.stream = stream
        self.start = time.monotonic()
        self.phase = ""

    def __call__(self, phase: str, done: int, total: int) -> None:
        if phase != self.phase and self.phase:
            self.stream.write("\n")
        self.phase = phase
        width = 30
        filled = int(width * done / total) if total else width
        pct = 100 * done / total if total else 100
        self.stream.write(
            f"\r{phase} [{'#' * filled}{'.' * (width - filled)}] "
            f"{done}/{total} {pct:5.1f}% {time.monotonic() - self.start:6.1f}s"
        )
        self.stream.flush()

    def close(self) -> None:
        if self.phase:
            self.stream.write("\n")


class Command(BaseCommand):
    help = "导入或导出台账：ledger import|export <种类> <文件> --as <用户名>"

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("action", choices=["import", "export"])
        parser.add_argument("kind", choices=sorted(KINDS))
        parser.add_argument("file")
        parser.add_argument("--as", dest="username", required=True, help="以该用户的身份和辖区")
        parser.add_argument("--geojson", help="网格范围 GeoJSON（导入时读取，导出时写入）")
        parser.add_argument("--unmasked", action="store_true", help="导出完整个人信息（需权限）")
        parser.add_argument("--reason", default="", help="导出完整个人信息的事由")
        parser.add_argument("--no-progress", action="store_true")

    def handle(self, *args: Any, **opts: Any) -> None:
        try:
            actor = User.objects.select_related("scope_region").get(username=opts["username"])
        except User.DoesNotExist:
            raise CommandError(f"用户 {opts['username']} 不存在") from None
        path = Path(opts["file"])
        try:
            if opts["action"] == "import":
                self._import(actor, path, opts)
            else:
                self._export(actor, path, opts)
        except ImportRejected as exc:
            self.stderr.write(f"\n{exc.message}")
            self.stderr.write("行号\t列\t问题")
            for p in exc.problems:
                self.stderr.write(f"{p.row if p.row is not None else '-'}\t{p.column}\t{p.message}")
            sys.exit(2)
        except DomainError as exc:
            raise CommandError(str(exc.message)) from exc

    def _import(self, actor: Any, path: Path, opts: dict[str, Any]) -> None:
        if not path.is_file():
            raise CommandError(f"文件不存在：{path}")
        geo_path = Path(opts["geojson"]) if opts.get("geojson") else None
        for each in (path, geo_path):  # checked before a file is read into memory
            if (
                each is not None
                and each.is_file()
                and (problem := size_problem(each.stat().st_size))
            ):
                raise CommandError(f"{each}：{problem}")
        geojson = geo_path.read_bytes() if geo_path else None
        bar = None if opts["no_progress"] else _Bar(sys.stderr)
        started = time.monotonic()
        try:
            result = ledger_import(
                actor=actor,
                kind=opts["kind"],
                data=path.read_bytes(),
                filename=path.name,
                geojson=geojson,
                progress=bar,
            )
        finally:
            if bar:
                bar.close()
        counts = "，".join(f"{k} {v}" for k, v in result.summary)
        self.stdout.write(
            f"导入成功：{result.rows} 行（{counts}），用时 {time.monotonic() - started:.1f} 秒"
        )
        for note in result.notes:
            self.stdout.write(note)

    def _export(self, actor: Any, path: Path, opts: dict[str, Any]) -> None:
        fmt = path.suffix.lower().lstrip(".")
        data = ledger_export(
            actor=actor,
            kind=opts["kind"],
            fmt=fmt,
            unmasked=opts["unmasked"],
            reason=opts["reason"],
        )
        path.write_bytes(data)
        self.stdout.write(f"已导出到 {path}")
        if opts.get("geojson"):
            if opts["kind"] != "grids":
                raise CommandError("只有网格台账可以导出 GeoJSON")
            Path(opts["geojson"]).write_bytes(grids_geojson_export(actor=actor))
            self.stdout.write(f"网格范围已导出到 {opts['geojson']}")
