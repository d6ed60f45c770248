from __future__ import annotations

import csv
import io

from openpyxl import Workbook

from gridgov.people.validators import id_check_digit


def valid_id(first17: str) -> str:
    return first17 + id_check_digit(first17)


def csv_bytes(rows: list[list[str]]) -> bytes:
    buf = io.StringIO()
    buf.write("\ufeff")
    csv.writer(buf).writerows(rows)
    return buf.getvalue().encode("utf-8")


def xlsx_bytes(rows: list[list[object]]) -> bytes:
    wb = Workbook()
    ws = wb.active
    for row in rows:
        ws.append(row)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()
