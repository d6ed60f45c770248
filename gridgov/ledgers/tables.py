"""Reading and writing ledger tables: .xlsx (openpyxl) and .csv (UTF-8 with BOM).

A table is a header row and data rows of strings. Row numbers are the ones an
official sees in Excel: the header is row 1, the first data row is row 2.
Rows whose first cell starts with "#" are comments (the templates' example
rows) and are skipped.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import zipfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from django.utils.translation import gettext as _
from openpyxl import Workbook, load_workbook
from openpyxl.styles import Font, PatternFill

MAX_ROWS = 300_000
FORMATS = ("xlsx", "csv")
# An import file is read whole into memory: 300,000 residents fit in well under 64 MB as
# CSV or .xlsx. An .xlsx is a zip; what it unpacks to is bounded too (a zip bomb).
MAX_FILE_BYTES = 64 * 1024 * 1024
MAX_XLSX_UNPACKED_BYTES = 512 * 1024 * 1024
_MB = 1024 * 1024


class TableError(Exception):
    """The file cannot be read as a table at all (wrong type, damaged, empty)."""


@dataclass
class Table:
    headers: list[str]
    rows: list[tuple[int, list[str]]]  # (spreadsheet row number, cells)


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time(0) else value.isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value).strip()


def format_of(filename: str) -> str:
    name = (filename or "").lower()
    for fmt in FORMATS:
        if name.endswith("." + fmt):
            return fmt
    raise TableError(_("文件类型不支持：请上传 .xlsx 或 .csv 文件"))


def size_problem(size: int) -> str | None:
    """What to tell someone whose import file has ``size`` bytes, if that is over the limit."""
    if size <= MAX_FILE_BYTES:
        return None
    return _("文件大小 %(size)s MB，超过导入上限 %(limit)s MB：请分批导入") % {
        "size": f"{size / _MB:.1f}",
        "limit": f"{MAX_FILE_BYTES / _MB:g}",
    }


def read_table(data: bytes, filename: str) -> Table:
    """Parse an uploaded file; raise TableError with a readable message if impossible."""
    fmt = format_of(filename)
    if problem := size_problem(len(data)):
        raise TableError(problem)
    raw_rows: Iterable[Sequence[object]]
    if fmt == "xlsx":
        if not zipfile.is_zipfile(io.BytesIO(data)):
            raise TableError(_("文件不是有效的 Excel (.xlsx) 文件"))
        _check_unpacked_size(data)
        try:
            wb = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
        except Exception as exc:  # openpyxl raises many types for damaged files
            raise TableError(_("Excel 文件无法读取，请另存为 .xlsx 后重试")) from exc
        raw_rows = wb.worksheets[0].iter_rows(values_only=True)
    else:
        text = None
        for encoding in ("utf-8-sig", "gb18030"):
            try:
                text = data.decode(encoding)
                break
            except UnicodeDecodeError:
                continue
        if text is None or "\x00" in text:
            raise TableError(_("CSV 文件编码无法识别，请保存为 UTF-8 编码"))
        raw_rows = csv.reader(io.StringIO(text))
    headers: list[str] | None = None
    rows: list[tuple[int, list[str]]] = []
    for number, raw in enumerate(raw_rows, start=1):
        cells = [_cell(v) for v in raw]
        if headers is None:
            if not any(cells):
                continue
            headers = [c.replace("*", "").replace("＊", "").strip() for c in cells]
            header_row = number
            continue
        if not any(cells) or cells[0].startswith("#"):
            continue
        rows.append((number, cells))
        if len(rows) > MAX_ROWS:
            raise TableError(_("文件超过 %(v0)s 行，请分批导入") % {"v0": MAX_ROWS})
    if headers is None:
        raise TableError(_("文件是空的：第一行应为表头"))
    del header_row
    return Table(headers=headers, rows=rows)


def _check_unpacked_size(data: bytes) -> None:
    """Refuse an .xlsx whose parts unpack to more than the limit. Python's zip reader never
    gives more bytes than a part's declared size, so the declared sizes bound the memory."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            unpacked = sum(info.file_size for info in archive.infolist())
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise TableError(_("Excel 文件无法读取，请另存为 .xlsx 后重试")) from exc
    if unpacked > MAX_XLSX_UNPACKED_BYTES:
        raise TableError(
            _("Excel 文件解压后达 %(size)s MB，超过上限 %(limit)s MB：请分批导入")
            % {
                "size": f"{unpacked / _MB:.0f}",
                "limit": f"{MAX_XLSX_UNPACKED_BYTES / _MB:g}",
            }
        )


def write_table(
    fmt: str,
    headers: list[str],
    rows: Iterable[Sequence[str]],
    *,
    sheet_title: str = "台账",
    notes: list[list[str]] | None = None,
    text_columns: Sequence[int] = (),
) -> bytes:
    """Write a header row and rows as .xlsx (with an optional second sheet) or .csv."""
    if fmt == "csv":
        buf = io.StringIO()
        buf.write("\ufeff")  # BOM: Excel opens UTF-8 CSV correctly only with it
        writer = csv.writer(buf, lineterminator="\r\n")
        writer.writerow(headers)
        for row in rows:
            writer.writerow(row)
        return buf.getvalue().encode("utf-8")
    if fmt != "xlsx":
        raise TableError(_("导出格式只能是 xlsx 或 csv"))
    wb = Workbook(write_only=True)
    ws = wb.create_sheet(sheet_title[:31])
    for idx in text_columns:
        letter = _column_letter(idx)
        ws.column_dimensions[letter].width = 22
    header_font = Font(bold=True)
    fill = PatternFill("solid", fgColor="F0F2F5")
    from openpyxl.cell import WriteOnlyCell

    head = []
    for h in headers:
        cell = WriteOnlyCell(ws, value=h)
        cell.font, cell.fill = header_font, fill
        head.append(cell)
    ws.append(head)
    text = set(text_columns)
    for row in rows:
        out = []
        for i, value in enumerate(row):
            cell = WriteOnlyCell(ws, value=value)
            if i in text:
                cell.number_format = "@"
            out.append(cell)
        ws.append(out)
    if notes:
        ns = wb.create_sheet("填写说明")
        for line in notes:
            ns.append(line)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def _column_letter(idx: int) -> str:
    from openpyxl.utils import get_column_letter

    return get_column_letter(idx + 1)
