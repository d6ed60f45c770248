from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from gridgov.accounts import selectors


@login_required
def pii_log(request: HttpRequest) -> HttpResponse:
    qs = selectors.pii_log_list(actor=request.user)
    page = Paginator(qs, 50).get_page(request.GET.get("page"))
    return render(request, "accounts/pii_log.html", {"page": page})
