"""The bare baseline for the HTTP benchmark: one JSON POST, one row inserted.

Mounted only when GRIDGOV_BENCH=true (see open311/urls.py); never in production URLs.
"""

from __future__ import annotations

import json

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from gridgov.open311.models import BenchRow


@csrf_exempt
@require_POST
def bare_insert(request: HttpRequest) -> HttpResponse:
    try:
        body = json.loads(request.body or b"{}")
    except ValueError:
        return JsonResponse({"error": {"code": "invalid", "message": "JSON"}}, status=400)
    row = BenchRow.objects.create(note=str(body.get("description", ""))[:64])
    return JsonResponse({"id": row.pk}, status=201)
