"""An official uploads a bad residents ledger in Chromium and sees the row/column report."""

from __future__ import annotations

import pytest

from gridgov.conftest import login, screenshot
from gridgov.ledgers.tests.conftest import csv_bytes
from gridgov.people.models import Resident

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_upload_bad_ledger_shows_report_then_good_one_imports(
    live_server, page, personas, tmp_path
):
    head = ["姓名", "身份证号", "联系电话", "所属社区"]
    bad = tmp_path / "居民.csv"
    bad.write_bytes(
        csv_bytes(
            [head, ["王建国", "110105194912310021", "138", "410205001001"], ["李四", "", "", "999"]]
        )
    )
    login(page, live_server.url, "worker_a")
    page.goto(f"{live_server.url}/ledgers/?kind=residents")
    page.set_input_files("#import-form input[name=file]", str(bad))
    page.click("#import-form button[type=submit]")
    page.wait_for_selector("#problems")
    rows = page.locator("#problems tbody tr")
    assert rows.count() == 3
    assert "身份证号校验位不正确" in rows.nth(0).inner_text()
    screenshot(page, "ledgers-import-report")
    assert Resident.objects.count() == 0
    good = tmp_path / "good.csv"
    good.write_bytes(
        csv_bytes([head, ["王建国", "11010519491231002X", "13812345678", "410205001001"]])
    )
    page.set_input_files("#import-form input[name=file]", str(good))
    page.click("#import-form button[type=submit]")
    page.wait_for_selector("text=导入成功")
    assert Resident.objects.get().name == "王建国"
