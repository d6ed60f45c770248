"""Duplicate proposal: open appeals of the same category near the same place and time.

One indexed query (category, nine coarse geo cells, created_at window; plain value rows,
at most MAX_CANDIDATES), then an exact distance filter and a TF-IDF cosine ranking over
jieba tokens of the few rows found.
"""

from __future__ import annotations

import datetime as dt
import logging
import math
from collections import Counter
from functools import lru_cache
from typing import Any

from gridgov.appeals.models import OPEN_STATUSES, Appeal, Category, Status, neighbour_cells

RADIUS_M = 100.0
# Columns read per candidate, in the model's field order (as ``Model.from_db`` needs them).
CANDIDATE_FIELDS = tuple(
    f.attname
    for f in Appeal._meta.concrete_fields
    if f.attname
    in {
        "id",
        "latitude",
        "longitude",
        "description",
        "created_at",
        "status",
        "tracking_code",
        "region_path",
        "category_id",
        "address",
    }
)
_LAT = CANDIDATE_FIELDS.index("latitude")
_LON = CANDIDATE_FIELDS.index("longitude")
WINDOW = dt.timedelta(hours=48)
MAX_CANDIDATES = 50


def distance_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance in metres (haversine)."""
    r = 6371000.0
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * r * math.asin(math.sqrt(a))


_jieba_ready = False


@lru_cache(maxsize=4096)
def tokens(text: str) -> tuple[str, ...]:
    """jieba word tokens without whitespace and punctuation (cached: candidates recur)."""
    global _jieba_ready
    import jieba

    if not _jieba_ready:
        jieba.setLogLevel(logging.WARNING)
        _jieba_ready = True
    return tuple(t for t in jieba.lcut(text or "") if any(ch.isalnum() for ch in t))


def warm_up() -> None:
    """Load jieba's dictionary now rather than on the first duplicate check of a process
    (about 1 s from jieba's cache file, several seconds without it). Called by the
    production WSGI entry point only, so management commands and tests do not pay."""
    tokens("楼道灯坏了")


def similarities(text: str, others: list[str]) -> list[float]:
    """Cosine similarity of ``text`` to each of ``others``: TF-IDF over jieba tokens with
    smoothed IDF (as scikit-learn's TfidfVectorizer computes it), in plain Python because
    the sets are a handful of rows and importing/fitting scikit-learn per intake costs
    tens of milliseconds."""
    if not others:
        return []
    docs = [Counter(tokens(t)) for t in [text, *others]]
    n = len(docs)
    df: Counter[str] = Counter()
    for doc in docs:
        df.update(doc.keys())
    idf = {term: math.log((1 + n) / (1 + count)) + 1 for term, count in df.items()}

    def weigh(doc: Counter[str]) -> tuple[dict[str, float], float]:
        vec = {term: c * idf[term] for term, c in doc.items()}
        return vec, math.sqrt(sum(w * w for w in vec.values()))

    query, qnorm = weigh(docs[0])
    scores = []
    for doc in docs[1:]:
        vec, norm = weigh(doc)
        dot = sum(w * vec.get(term, 0.0) for term, w in query.items())
        scores.append(dot / (qnorm * norm) if qnorm and norm else 0.0)
    return scores


def appeal_duplicate_candidates(
    *,
    category: Category,
    latitude: float | None,
    longitude: float | None,
    description: str,
    at: dt.datetime,
    exclude_id: int | None = None,
    limit: int = 20,
) -> list[Any]:
    """Open appeals of ``category`` within 100 m and 48 h of (``latitude``, ``longitude``, ``at``),
    best text match first. Each returned appeal carries ``distance_m`` and ``similarity``.

    Without a point there is nothing to compare and the answer is empty. Merged appeals are
    never proposed (their primary is). Not scoped: intake runs it before anyone "owns" the
    case; callers show the result only to operators in whose jurisdiction the rows lie.
    """
    if latitude is None or longitude is None:
        return []
    open_statuses = sorted(OPEN_STATUSES - {Status.MERGED})
    rows = (
        Appeal.objects.filter(
            category=category,
            geo_cell__in=neighbour_cells(latitude, longitude),
            created_at__gte=at - WINDOW,
            created_at__lte=at + WINDOW,
            status__in=open_statuses,
        )
        .order_by("-created_at")
        .values_list(*CANDIDATE_FIELDS)[:MAX_CANDIDATES]
    )
    near = []
    for values in rows:
        pk, row_lat, row_lon = values[0], values[_LAT], values[_LON]
        if pk == exclude_id or row_lat is None:
            continue
        d = distance_m(latitude, longitude, row_lat, row_lon)
        if d <= RADIUS_M:
            # Model instances only for the few rows within the radius.
            row = Appeal.from_db(Appeal.objects.db, CANDIDATE_FIELDS, values)
            row.distance_m = round(d, 1)
            near.append(row)
    if not near:
        return []
    for row, score in zip(
        near, similarities(description, [r.description for r in near]), strict=True
    ):
        row.similarity = round(score, 3)
    near.sort(key=lambda r: (-r.similarity, r.distance_m, r.created_at))
    return near[:limit]
