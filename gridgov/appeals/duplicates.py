"""Duplicate proposal: open appeals of the same category near the same place and time.

One indexed query (the nine cells of the category around the point, a bounding box, the
created_at window; at most MAX_CANDIDATES rows), then an exact distance filter and a TF-IDF
cosine ranking over jieba tokens of the few rows found. At intake on PostgreSQL the query
and the distance filter run inside the statement that inserts the appeal (``near_lookup``).
"""

from __future__ import annotations

import datetime as dt
import logging
import math
import re
from collections import Counter
from collections.abc import Iterable
from functools import cache, lru_cache
from typing import Any

from django.db import connections

from gridgov.appeals.models import OPEN_STATUSES, Appeal, Category, Status, neighbour_cells
from gridgov.core.db import Lookup
from gridgov.core.scope import subtree_q

RADIUS_M = 100.0
EARTH_RADIUS_M = 6371000.0  # haversine's
# Columns read per row in the look-up: enough to measure and compare, nothing to convert.
_COLUMNS = ("id", "latitude", "longitude", "description_tokens", "description")
WINDOW = dt.timedelta(hours=48)
MAX_CANDIDATES = 50
OPEN_UNMERGED = tuple(sorted(OPEN_STATUSES - {Status.MERGED}))
# The size class of the appeals table as this process last saw it: the bit length of the
# newest appeal id it wrote (ids only grow). See ``_candidate_sql``.
_size_class = [0]


def note_appeal_id(pk: int) -> None:
    """Tell the look-up that the table holds about ``pk`` rows (intake calls this)."""
    size = int(pk).bit_length()
    if size > _size_class[0]:
        _size_class[0] = size


def _box(latitude: float, longitude: float) -> tuple[float, float, float, float]:
    """A box a little larger than the circle of RADIUS_M: only rows inside it are read (the
    cells narrow the index range; the box drops most of their rows before they are sent)."""
    dlat = RADIUS_M * 1.01 / 111_194.9  # metres per degree of latitude (haversine's radius)
    dlon = dlat / max(math.cos(math.radians(latitude)), 0.01)
    return latitude - dlat, latitude + dlat, longitude - dlon, longitude + dlon


@cache
def _candidate_sql(size_class: int = 0) -> str:
    """The one indexed look-up (``appeal_dup_cell_idx``), written out once: it runs on every
    intake, and building it through the ORM each time cost about 0.2 ms of a 2 ms intake.

    On PostgreSQL it is prepared like every statement that runs often on a connection: one
    plan, made without the values, serves the connection's next runs. Planning it each time
    cost 0.31 ms of PostgreSQL's time per look-up against 0.09 ms prepared. A plan made on a
    nearly empty table (a scan of the whole table is cheapest there) would go on scanning as
    the table grew, so the text begins with the table's size class: each time the table
    doubles, the text changes and the look-up is planned afresh. A plan is then never used
    on more than twice the rows it was made for; connections also end after a minute."""
    meta = Appeal._meta
    column = {f.attname: f.column for f in meta.concrete_fields}
    cells = ", ".join(["%s"] * 9)
    statuses = ", ".join(["%s"] * len(OPEN_UNMERGED))
    return (
        f"/* rows < 2^{size_class} */ "
        f"SELECT {', '.join(column[name] for name in _COLUMNS)} FROM {meta.db_table} "
        f"WHERE {column['dup_cell']} IN ({cells}) "
        f"AND {column['latitude']} BETWEEN %s AND %s AND {column['longitude']} BETWEEN %s AND %s "
        f"AND {column['created_at']} BETWEEN %s AND %s AND {column['status']} IN ({statuses}) "
        f"ORDER BY {column['created_at']} DESC LIMIT {MAX_CANDIDATES}"
    )


def distance_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance in metres (haversine)."""
    r = EARTH_RADIUS_M
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * r * math.asin(math.sqrt(a))


_jieba_ready = False
# A token with a letter or digit in it (as str.isalnum() counts them; half the time of
# testing each character in Python).
_WORDLIKE = re.compile(r"[^\W_]").search


@lru_cache(maxsize=4096)
def tokens(text: str) -> tuple[str, ...]:
    """jieba word tokens without whitespace and punctuation (cached: candidates recur)."""
    global _jieba_ready
    import jieba

    if not _jieba_ready:
        jieba.setLogLevel(logging.WARNING)
        _jieba_ready = True
    return tuple(t for t in jieba.lcut(text or "") if _WORDLIKE(t))


def warm_up() -> None:
    """Load jieba's dictionary now rather than on the first duplicate check of a process
    (about 1 s from jieba's cache file, several seconds without it). Called by the
    production WSGI entry point only, so management commands and tests do not pay."""
    tokens("楼道灯坏了")


def stored_tokens(text: str) -> str:
    """The tokens of ``text`` as stored in ``Appeal.description_tokens`` (space-separated:
    no kept token contains whitespace)."""
    return " ".join(tokens(text))


def token_similarities(query: Iterable[str], others: list[Iterable[str]]) -> list[float]:
    """Cosine similarity of the token list ``query`` to each of ``others``: TF-IDF with
    smoothed IDF (as scikit-learn's TfidfVectorizer computes it), in plain Python because
    the sets are a handful of rows and importing/fitting scikit-learn per intake costs
    tens of milliseconds."""
    if not others:
        return []
    docs = [Counter(doc) for doc in [query, *others]]
    n = len(docs)
    df: Counter[str] = Counter()
    for doc in docs:
        df.update(doc.keys())
    idf = {term: math.log((1 + n) / (1 + count)) + 1 for term, count in df.items()}

    def weigh(doc: Counter[str]) -> tuple[dict[str, float], float]:
        vec = {term: c * idf[term] for term, c in doc.items()}
        return vec, math.sqrt(sum(w * w for w in vec.values()))

    qvec, qnorm = weigh(docs[0])
    scores = []
    for doc in docs[1:]:
        vec, norm = weigh(doc)
        dot = sum(w * vec.get(term, 0.0) for term, w in qvec.items())
        scores.append(dot / (qnorm * norm) if qnorm and norm else 0.0)
    return scores


# A found row: (id, distance in metres or None, stored tokens, description).
Found = tuple[int, float | None, str, str]


def ranked_candidates(
    *,
    category: Category,
    latitude: float | None,
    longitude: float | None,
    description: str,
    at: dt.datetime,
    exclude_id: int | None = None,
    limit: int = 20,
    description_tokens: str | None = None,
    region_path: str | None = None,
) -> list[tuple[int, float | None, float]]:
    """(id, distance in metres, similarity) of the open appeals of ``category`` within 100 m
    and 48 h of (``latitude``, ``longitude``, ``at``): best text match first, then nearest,
    then oldest (lowest id). No model instances: intake needs only the ids.

    Without a point (a caller who gave an address and a community): those in the region
    ``region_path`` (its subtree) within the 48 h, distance None, best text match first,
    then newest; without either, nothing. Merged appeals are never proposed (their primary
    is). ``description_tokens`` (``stored_tokens`` of the description) saves segmenting it
    again when the caller already has it. Not scoped: intake runs it before anyone "owns"
    the case; callers show the result only to operators in whose jurisdiction the rows lie.
    """
    if latitude is None or longitude is None:
        if not region_path:
            return []
        found = in_region(category=category, region_path=region_path, at=at, exclude_id=exclude_id)
    else:
        found = near(category=category, latitude=latitude, longitude=longitude, at=at)
        found = [row for row in found if row[0] != exclude_id]
    query = description_tokens if description_tokens is not None else stored_tokens(description)
    return rank(found, query)[:limit]


def near(*, category: Category, latitude: float, longitude: float, at: dt.datetime) -> list[Found]:
    """The look-up around a point (``ranked_candidates``), unranked, newest first."""
    connection = connections[Appeal.objects.db]
    adapt = connection.ops.adapt_datetimefield_value  # SQLite stores UTC text
    with connection.cursor() as cursor:
        cursor.execute(
            _candidate_sql(_size_class[0]),
            _candidate_params(
                category, latitude, longitude, adapt(at - WINDOW), adapt(at + WINDOW)
            ),
        )
        rows = cursor.fetchall()
    found = []
    for pk, row_lat, row_lon, row_tokens, row_description in rows:
        d = distance_m(latitude, longitude, row_lat, row_lon)
        if d <= RADIUS_M:
            found.append((pk, d, row_tokens, row_description))
    return found


def _candidate_params(
    category: Category, latitude: float, longitude: float, start: Any, end: Any
) -> list[Any]:
    return [
        *neighbour_cells(category.pk, latitude, longitude),
        *_box(latitude, longitude),
        start,
        end,
        *OPEN_UNMERGED,
    ]


def near_lookup(
    *, category: Category, latitude: float, longitude: float, at: dt.datetime
) -> Lookup:
    """``near`` as intake runs it: inside the statement that inserts the appeal
    (``insert_linked``), so one round trip serves both. PostgreSQL measures the distance as
    ``distance_m`` does (the same functions in the same order); the ids found go into the
    intake event's and audit row's ``data`` under ``duplicate_candidates``, in id order."""
    return Lookup(
        sql=_near_sql(_size_class[0]),
        params=(
            latitude,
            latitude,
            longitude,
            *_candidate_params(category, latitude, longitude, at - WINDOW, at + WINDOW),
        ),
        fallback=lambda: near(category=category, latitude=latitude, longitude=longitude, at=at),
        into="data",
        key="duplicate_candidates",
    )


@cache
def _near_sql(size_class: int) -> str:
    """PostgreSQL: ``_candidate_sql`` with each row's distance from the point (three
    parameters before the look-up's own: latitude, latitude, longitude), within RADIUS_M."""
    row_lat = "radians(latitude)"
    a = (
        f"power(sin(({row_lat} - radians(%s)) / 2), 2) + cos(radians(%s)) * cos({row_lat}) "
        f"* power(sin(radians(longitude - %s) / 2), 2)"
    )
    return (
        "SELECT id, distance, description_tokens, description FROM ("
        f"SELECT id, 2 * {EARTH_RADIUS_M}::float8 * asin(sqrt({a})) AS distance, "
        f"description_tokens, description FROM ({_candidate_sql(size_class)}) AS box"
        f") AS measured WHERE distance <= {RADIUS_M}::float8"
    )


def rank(found: Iterable[Found], query: str) -> list[tuple[int, float | None, float]]:
    """(id, distance rounded to 0.1 m, similarity) of ``found``, best text match first, then
    nearest, then oldest; rows without a distance keep their order among equals."""
    found = list(found)
    if not found:
        return []
    # Rows written before the column existed have no stored tokens: segment them now.
    scores = token_similarities(
        query.split(), [(terms or stored_tokens(text)).split() for _pk, _d, terms, text in found]
    )
    ranked = [
        (pk, None if d is None else round(d, 1), round(score, 3))
        for (pk, d, _terms, _text), score in zip(found, scores, strict=True)
    ]
    ranked.sort(key=lambda r: (-r[2], r[1] or 0.0, r[0] if r[1] is not None else 0))
    return ranked


def in_region(
    *, category: Category, region_path: str, at: dt.datetime, exclude_id: int | None = None
) -> list[Found]:
    """The look-up without a point (``ranked_candidates``), unranked, newest first."""
    rows = (
        Appeal.objects.filter(
            subtree_q("region_path", region_path),
            category=category,
            status__in=OPEN_UNMERGED,
            created_at__range=(at - WINDOW, at + WINDOW),
        )
        .exclude(pk=exclude_id)
        .order_by("-created_at", "-pk")
        .values_list("pk", "description_tokens", "description")[:MAX_CANDIDATES]
    )
    return [(pk, None, terms, text) for pk, terms, text in rows]


def appeal_duplicate_candidates(**criteria: Any) -> list[Appeal]:
    """The appeals ``ranked_candidates(**criteria)`` finds, in its order, each carrying
    ``distance_m`` and ``similarity``."""
    ranked = ranked_candidates(**criteria)
    rows = Appeal.objects.in_bulk([pk for pk, _d, _s in ranked])
    found = []
    for pk, d, score in ranked:
        row = rows.get(pk)
        if row is not None:  # deleted in between
            row.distance_m, row.similarity = d, score
            found.append(row)
    return found


def duplicates_of(appeal: Appeal) -> list[Appeal]:
    """The candidates ``appeal_duplicate_candidates`` finds for an appeal already taken:
    around its point, or in its region when it has none (not scoped)."""
    return appeal_duplicate_candidates(
        category=appeal.category,
        latitude=appeal.latitude,
        longitude=appeal.longitude,
        description=appeal.description,
        at=appeal.created_at,
        exclude_id=appeal.pk,
        region_path=appeal.region_path,
    )
