"""The shared machinery of ledger kinds: columns, problems, rows and the import context."""

from __future__ import annotations

import datetime as dt
import functools
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.utils import translation

from gridgov.core.scope import user_scope_path
from gridgov.territory.models import Grid, Region

Progress = Callable[[str, int, int], None]


@dataclass(frozen=True)
class Column:
    header: str
    required: bool = False
    example: str = ""
    help: str = ""
    mask: Callable[[str], str] | None = None  # applied in masked exports
    text: bool = False  # stored as text in Excel (ID numbers, codes, phones)
    max_length: int | None = None  # longer is a problem of its row, never cut short
    choices: Any = None  # the TextChoices whose labels the help lists as %(choices)s

    @property
    def help_shown(self) -> str:
        """The help in the reader's language (the file's values, such as the choices'
        labels, stay as the file takes them)."""
        if not self.help:
            return ""
        text = translation.gettext(self.help)
        return text % {"choices": labels(self.choices)} if self.choices is not None else text

    @property
    def header_shown(self) -> str:
        """The header in the reader's language where it differs (the file keeps its own)."""
        return translation.gettext(self.header)


@dataclass(frozen=True)
class Problem:
    row: int | None  # spreadsheet row (header = 1); None for the file as a whole
    column: str
    message: str

    def as_dict(self) -> dict[str, Any]:
        return {"row": self.row, "column": self.column, "message": self.message}


@dataclass
class Row:
    number: int
    values: dict[str, str]

    def get(self, header: str) -> str:
        return self.values.get(header, "").strip()


@dataclass
class Context:
    """State of one import: the actor, problems found so far, look-up caches."""

    actor: Any
    progress: Progress | None = None
    problems: list[Problem] = field(default_factory=list)
    geojson: dict[str, Any] | None = None
    notes: list[str] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)
    _regions: dict[str, Region | None] = field(default_factory=dict)
    _grids: dict[str, Grid | None] = field(default_factory=dict)

    @property
    def scope(self) -> str | None:
        return user_scope_path(self.actor)

    def in_scope(self, path: str) -> bool:
        scope = self.scope
        return scope is not None and path.startswith(scope)

    def err(self, row: Row | int | None, column: str, message: str) -> None:
        number = row.number if isinstance(row, Row) else row
        self.problems.append(Problem(number, column, message))

    def tick(self, phase: str, done: int, total: int) -> None:
        if self.progress is not None and (done % 1000 == 0 or done == total):
            self.progress(phase, done, total)

    # look-ups, loaded in bulk so 100k rows cost a handful of queries
    def load_regions(self, codes: Iterable[str]) -> None:
        wanted = {c for c in codes if c and c not in self._regions}
        for chunk in _chunks(sorted(wanted), 900):
            for region in Region.objects.filter(code__in=chunk):
                self._regions[region.code] = region
        for code in wanted:
            self._regions.setdefault(code, None)

    def region(self, code: str) -> Region | None:
        """The region with ``code`` if it exists and lies in the actor's jurisdiction."""
        if code not in self._regions:
            self.load_regions([code])
        region = self._regions.get(code)
        return region if region is not None and self.in_scope(region.path) else None

    def load_grids(self, codes: Iterable[str]) -> None:
        wanted = {c for c in codes if c and c not in self._grids}
        for chunk in _chunks(sorted(wanted), 900):
            for grid in Grid.objects.filter(code__in=chunk):
                self._grids[grid.code] = grid
        for code in wanted:
            self._grids.setdefault(code, None)

    def grid(self, code: str) -> Grid | None:
        if code not in self._grids:
            self.load_grids([code])
        grid = self._grids.get(code)
        return grid if grid is not None and self.in_scope(grid.region_path) else None


def _chunks(items: list[Any], size: int) -> Iterator[list[Any]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


chunks = _chunks

_DATE_FORMATS = ("%Y-%m-%d", "%Y/%m/%d", "%Y.%m.%d", "%Y%m%d", "%Y年%m月%d日")
CODE_RE = re.compile(r"^[0-9A-Za-z_-]{1,40}$")


def parse_date(value: str) -> dt.date | None:
    """A date as officials type it; None if it cannot be read."""
    value = value.strip().split(" ")[0].split("T")[0]
    for fmt in _DATE_FORMATS:
        try:
            return dt.datetime.strptime(value, fmt).date()
        except ValueError:
            continue
    return None


def parse_choice(value: str, choices: Any) -> str | None:
    """The code of a TextChoices from its label, in any of the site's languages (a ledger
    file is the same file whoever uploads it, and in whichever language their pages are),
    or from the code itself; letters in any case."""
    return _choice_map(choices).get(value.strip().casefold())


@functools.lru_cache(maxsize=64)
def _choice_map(choices: Any) -> dict[str, str]:
    out: dict[str, str] = {}
    for language, _name in settings.LANGUAGES:
        with translation.override(language):
            for code, label in choices.choices:
                out[str(label).casefold()] = code
    out.update({code.casefold(): code for code in choices.values})
    return out


def labels(choices: Any) -> str:
    """The labels a ledger file takes, as its template writes them (in Chinese, the files'
    language, whatever the reader's)."""
    with translation.override(settings.LANGUAGE_CODE):
        return "、".join(str(label) for _, label in choices.choices)


def yes_no(value: str) -> bool | None:
    value = value.strip().lower()
    if value in ("是", "y", "yes", "true", "1", "√"):
        return True
    if value in ("否", "n", "no", "false", "0", ""):
        return False
    return None
