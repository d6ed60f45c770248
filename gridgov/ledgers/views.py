"""Ledger pages: choose a kind, download its template, upload, see the report; export."""

from __future__ import annotations

from django import forms
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext_lazy as _

from gridgov.accounts import capabilities as caps
from gridgov.core.errors import ValidationFailed, form_error
from gridgov.ledgers.kinds import KINDS
from gridgov.ledgers.services import (
    ImportRejected,
    grids_geojson_export,
    kind_get,
    ledger_export,
    ledger_import,
    ledger_template,
)
from gridgov.ledgers.tables import size_problem

CONTENT_TYPES = {
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "csv": "text/csv; charset=utf-8",
}


class UploadForm(forms.Form):
    file = forms.FileField(label=_("台账文件（.xlsx 或 .csv）"))
    geojson = forms.FileField(label=_("网格范围 GeoJSON（仅网格台账，可选）"), required=False)

    def clean(self) -> dict[str, object]:
        # Before any file is read into memory: the size the upload declares is its size on
        # disk (Django has already spooled it there).
        data = super().clean()
        for name in ("file", "geojson"):
            upload = data.get(name)
            if upload and (problem := size_problem(upload.size)):
                self.add_error(name, problem)
        return data


class ExportForm(forms.Form):
    format = forms.ChoiceField(
        label=_("格式"), choices=[("xlsx", "Excel (.xlsx)"), ("csv", "CSV (UTF-8)")]
    )
    unmasked = forms.BooleanField(label=_("导出完整个人信息（需权限，将留痕）"), required=False)
    reason = forms.CharField(label=_("事由"), max_length=255, required=False)


def _download(data: bytes, filename: str, fmt: str) -> HttpResponse:
    response = HttpResponse(data, content_type=CONTENT_TYPES.get(fmt, "application/json"))
    response["Content-Disposition"] = f"attachment; filename*=UTF-8''{_quote(filename)}"
    return response


def _quote(name: str) -> str:
    from urllib.parse import quote

    return quote(name)


def _context(request: HttpRequest, **extra: object) -> dict[str, object]:
    user = request.user
    return {
        "kinds": list(KINDS.values()),
        "upload_form": UploadForm(),
        "export_form": ExportForm(),
        "can_import": caps.has_cap(user, caps.IMPORT_LEDGERS),
        "can_export": caps.has_cap(user, caps.EXPORT_LEDGERS),
        "can_reveal": caps.has_cap(user, caps.REVEAL_PII),
        **extra,
    }


@login_required
def index(request: HttpRequest) -> HttpResponse:
    if not (
        caps.has_cap(request.user, caps.IMPORT_LEDGERS)
        or caps.has_cap(request.user, caps.EXPORT_LEDGERS)
    ):
        caps.require_cap(request.user, caps.IMPORT_LEDGERS)
    selected = request.GET.get("kind", "residents")
    if selected not in KINDS:
        selected = "residents"
    return render(request, "ledgers/index.html", _context(request, selected=KINDS[selected]))


@login_required
def template(request: HttpRequest, kind: str, fmt: str) -> HttpResponse:
    spec = kind_get(kind)
    if fmt not in CONTENT_TYPES:
        raise ValidationFailed(_("模板格式只能是 xlsx 或 csv"), field="format")
    return _download(ledger_template(kind=kind, fmt=fmt), f"{spec.label}导入模板.{fmt}", fmt)


@login_required
def import_file(request: HttpRequest, kind: str) -> HttpResponse:
    spec = kind_get(kind)
    caps.require_cap(request.user, caps.IMPORT_LEDGERS)
    form = UploadForm(request.POST or None, request.FILES or None)
    ctx = _context(request, selected=spec, upload_form=form)
    if request.method != "POST":
        return render(request, "ledgers/index.html", ctx)
    if not form.is_valid():
        return render(request, "ledgers/index.html", ctx, status=400)
    upload = form.cleaned_data["file"]
    geo = form.cleaned_data.get("geojson")
    try:
        result = ledger_import(
            actor=request.user,
            kind=kind,
            data=upload.read(),
            filename=upload.name,
            geojson=geo.read() if geo else None,
        )
    except ImportRejected as exc:
        ctx["problems"] = exc.problems
        return render(request, "ledgers/index.html", ctx, status=400)
    ctx["result"] = result
    return render(request, "ledgers/index.html", ctx)


@login_required
def export(request: HttpRequest, kind: str) -> HttpResponse:
    spec = kind_get(kind)
    posted = request.method == "POST"
    form = ExportForm(request.POST if posted else request.GET or None)
    if not form.is_valid():
        raise form_error(form)
    data = form.cleaned_data
    if data["unmasked"] and not posted:
        # A link (another site's too, with the session's cookie) must not download residents'
        # full data nor write a reason into the log: that takes the page's form (CSRF-checked).
        raise ValidationFailed(_("导出完整信息须在页面上填写事由后提交"), field="unmasked")
    try:
        content = ledger_export(
            actor=request.user,
            kind=kind,
            fmt=data["format"],
            unmasked=data["unmasked"],
            reason=data["reason"],
        )
    except ValidationFailed as exc:
        if exc.field != "reason":
            raise
        ctx = _context(request, selected=spec, export_error=exc.message)
        return render(request, "ledgers/index.html", ctx, status=400)
    return _download(content, f"{spec.label}台账.{data['format']}", data["format"])


@login_required
def export_geojson(request: HttpRequest) -> HttpResponse:
    response = HttpResponse(
        grids_geojson_export(actor=request.user), content_type="application/geo+json"
    )
    response["Content-Disposition"] = "attachment; filename=grids.geojson"
    return response
