"""Intake over HTTP: the JSON API's appeal intake (grid look-up, duplicate check, history
write) against a bare Django view that inserts one row, measured in the same run."""

from __future__ import annotations

from gridgov.bench import Figure
from gridgov.bench._http import Load, interleaved, server_or_none

INTAKE_PATH = "/api/v1/appeals/"
BARE_PATH = "/open311/bench/bare"


def run() -> list[Figure]:
    srv = server_or_none()
    if srv is None:
        return []
    data = srv.data
    common = {"boxes": data["boxes"], "categories": data["category_ids"]}
    # In turn, round after round: the ratio compares the two on the same machine minutes.
    bare, intake = interleaved(
        Load("POST", BARE_PATH, body_kind="bare", **common),
        Load(
            "POST",
            INTAKE_PATH,
            headers={"X-API-Key": data["api_key"]},
            body_kind="json-intake",
            **common,
        ),
    )
    ratio = intake.rate / bare.rate if bare.rate else 0.0
    return [
        Figure("intake_rate", intake.rate, "appeals/s", ">=", 1000),
        Figure("intake_p50", intake.p50_ms, "ms"),
        Figure("intake_p99", intake.p99_ms, "ms", "<=", 100),
        Figure("intake_bare_rate", bare.rate, "rows/s"),
        Figure("intake_ratio", ratio, "", ">=", 0.5),
    ]
