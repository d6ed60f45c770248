"""Rate limiting for anonymous endpoints: a fixed-window counter in the Django cache.

Works with any shared cache that has atomic ``add``/``incr`` (Redis; locmem counts per
process). The limit is ``settings.GRIDGOV_ANON_RATE_PER_MINUTE`` requests per client IP per
minute and per scope. Behind reverse proxies set ``GRIDGOV_RATE_TRUST_FORWARDED=true``
(environment, default false) and ``GRIDGOV_RATE_TRUSTED_PROXIES`` to how many proxies stand
in front of the app (default 1): the client is the X-Forwarded-For address that many hops from
the right end, the one the outermost proxy of ours saw. The addresses left of it are whatever
the client sent and are never read (``client_ip``).

Use ``rate_limit("scope")`` on a Django view (answers 429 JSON itself), or call
``check_rate(request, scope=...)`` and render the refusal your own way (Open311 does, in
JSON or XML), or ``enforce_rate(request, scope=...)`` to raise ``TooManyRequests``.
"""

from __future__ import annotations

import functools
import ipaddress
import time
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils.translation import gettext_lazy

from gridgov.core.errors import RateLimited

WINDOW_SECONDS = 60
MESSAGE = gettext_lazy("请求过于频繁, 请在 %(seconds)s 秒后再试")


class TooManyRequests(RateLimited):
    """A RateLimited error that knows when the client may retry (the Retry-After header)."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(MESSAGE % {"seconds": retry_after})
        self.retry_after = retry_after


def client_ip(request: HttpRequest) -> str:
    """The address requests are counted by. Trusting X-Forwarded-For, it is the entry
    ``GRIDGOV_RATE_TRUSTED_PROXIES`` hops from the right (each of our proxies appends the
    address it was called from; anything further left came from the client and could be
    anything). A header with fewer entries, or an entry that is no IP address, falls back to
    REMOTE_ADDR."""
    remote = request.META.get("REMOTE_ADDR", "") or "unknown"
    if not settings.GRIDGOV_RATE_TRUST_FORWARDED:
        return remote
    hops = request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")
    trusted = max(1, settings.GRIDGOV_RATE_TRUSTED_PROXIES)
    if len(hops) < trusted:
        return remote
    try:
        return str(ipaddress.ip_address(hops[-trusted].strip()))
    except ValueError:
        return remote


def check_rate(
    request: HttpRequest, *, scope: str, limit: int | None = None, now: float | None = None
) -> int | None:
    """Count this request; None when allowed, else the seconds until the window resets."""
    limit = limit if limit is not None else settings.GRIDGOV_ANON_RATE_PER_MINUTE
    return count_in_window(f"{scope}:{client_ip(request)}", limit=limit, now=now)


def count_in_window(
    name: str, *, limit: int, seconds: int = WINDOW_SECONDS, now: float | None = None
) -> int | None:
    """Count one more event for ``name`` in the current fixed window of ``seconds``; None
    while within ``limit``, else the seconds until the window resets."""
    now = time.time() if now is None else now
    window = int(now // seconds)
    key = f"gridgov:rl:{name}:{seconds}:{window}"
    # add() is a no-op when the key exists; incr() is atomic on Redis and under locmem's lock.
    cache.add(key, 0, timeout=seconds + 5)
    try:
        count = cache.incr(key)
    except ValueError:  # evicted between add and incr
        cache.set(key, 1, timeout=seconds + 5)
        count = 1
    if count <= limit:
        return None
    return max(1, int((window + 1) * seconds - now + 0.999))


def enforce_rate(request: HttpRequest, *, scope: str, limit: int | None = None) -> None:
    """Raise TooManyRequests when the client is over the limit."""
    retry_after = check_rate(request, scope=scope, limit=limit)
    if retry_after is not None:
        raise TooManyRequests(retry_after)


def too_many_response(retry_after: int) -> HttpResponse:
    error = TooManyRequests(retry_after)
    response = JsonResponse(
        {"error": error.as_dict()}, status=429, json_dumps_params={"ensure_ascii": False}
    )
    response["Retry-After"] = str(retry_after)
    return response


def rate_limit(
    scope: str, *, methods: tuple[str, ...] = ("POST",), only_anonymous: bool = True
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Decorate a Django view: over the limit, answer 429 with Retry-After.

    Counts only ``methods`` (POST by default) and, unless ``only_anonymous`` is False,
    only requests without a signed-in user.
    """

    def decorator(view: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(view)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
            user = getattr(request, "user", None)
            counted = request.method in methods and not (
                only_anonymous and user is not None and user.is_authenticated
            )
            if counted:
                retry_after = check_rate(request, scope=scope)
                if retry_after is not None:
                    return too_many_response(retry_after)
            return view(request, *args, **kwargs)

        return wrapped

    return decorator
