"""Open311 GeoReport v2 over HTTP: POST requests (API key, random points in grids,
a unique Idempotency-Key each) and GET requests.json pages of 100."""

from __future__ import annotations

from gridgov.bench import Figure
from gridgov.bench._http import Load, get_json, interleaved, server_or_none

POST_PATH = "/open311/v2/requests.json"
GET_PATH = "/open311/v2/requests.json?page_size=100"


def run() -> list[Figure]:
    srv = server_or_none()
    if srv is None:
        return []
    data = srv.data
    # POST and GET in turn; every GET round comes after a POST round, so its pages are full.
    post, get = interleaved(
        Load(
            "POST",
            POST_PATH,
            headers={"X-API-Key": data["api_key"]},
            body_kind="open311-post",
            boxes=data["boxes"],
            categories=data["categories"],
        ),
        Load("GET", GET_PATH),
    )
    items = len(get_json(GET_PATH))
    return [
        Figure("open311_get_page_items", items, "requests"),
        Figure("open311_post_rate", post.rate, "requests/s", ">=", 1000),
        Figure("open311_post_p99", post.p99_ms, "ms"),
        Figure("open311_get_rate", get.rate, "pages/s", ">=", 500),
        Figure("open311_get_p99", get.p99_ms, "ms"),
    ]
