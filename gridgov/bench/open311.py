"""Open311 GeoReport v2 over HTTP: POST requests (API key, random points in grids,
a unique Idempotency-Key each) and GET requests.json pages of 100."""

from __future__ import annotations

from gridgov.bench import Figure
from gridgov.bench._http import Load, get_json, measure, server_or_none

POST_PATH = "/open311/v2/requests.json"
GET_PATH = "/open311/v2/requests.json?page_size=100"


def run() -> list[Figure]:
    srv = server_or_none()
    if srv is None:
        return []
    data = srv.data
    post = measure(
        Load(
            "POST",
            POST_PATH,
            headers={"X-API-Key": data["api_key"]},
            body_kind="open311-post",
            boxes=data["boxes"],
            categories=data["categories"],
        )
    )
    # Pages are measured full: after the POSTs the first page holds 100 requests.
    items = len(get_json(GET_PATH))
    get = measure(Load("GET", GET_PATH))
    return [
        Figure("open311_get_page_items", items, "requests"),
        Figure("open311_post_rate", post.rate, "requests/s", ">=", 1000),
        Figure("open311_post_p99", post.p99_ms, "ms"),
        Figure("open311_get_rate", get.rate, "pages/s", ">=", 500),
        Figure("open311_get_p99", get.p99_ms, "ms"),
    ]
