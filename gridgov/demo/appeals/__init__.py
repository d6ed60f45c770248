"""The demo district's appeals: about ninety days of the closed loop, worked through the services.

Each appeal follows a story (``stories.Planner``): a problem of a leaf category
(``texts``), a channel, a reporter, and the people who would work it — the command
centre's operator for the hotline and the online channels, the community worker for
reports at the station, the grid worker on patrol, the department handlers, the street
officials. A story is a list of timed steps, and each step is one call to a service in
``gridgov.appeals.services`` by one of the demo's own users (or by the reporter with the
tracking code), so the appeals, their history and audit rows, the notifications and the
rates are what real use leaves behind. :func:`build_appeals` runs the steps of all stories
in time order, with the periodic job (``appeals_tick``) in between, under a simulated
clock (:func:`simulated_clock`).

Most stories are finished (closed, some after rework, a return or an extension; rejected,
withdrawn, merged: scenario A4's broken lift among them); a recent tail is still open in
every state, some of it amber or overdue. Same seed and same end, same appeals (tracking
codes aside: they come from the system's random source).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from django.utils import timezone

from gridgov.appeals import services
from gridgov.appeals.models import OPEN_STATUSES, Appeal, AppealEvent, Status
from gridgov.demo.appeals.stories import HISTORY_DAYS, Case, Planner, Step
from gridgov.territory import geo
from gridgov.territory.models import Region

__all__ = ["HISTORY_DAYS", "build_appeals", "history_end", "simulated_clock"]

# The real job runs every five minutes; here every two hours of the day and at midnight,
# enough for overdue marks, reminders and late-report flags to land about when they would
# (each run costs a few milliseconds, due work or not).
TICK_HOURS = (0, 8, 10, 12, 14, 16, 18, 20)

SERVICES: dict[str, Callable[..., Appeal]] = {
    "register": services.appeal_register,
    "dispatch": services.appeal_dispatch,
    "accept": services.appeal_accept,
    "handle": services.appeal_handle,
    "return": services.appeal_return,
    "verify": services.appeal_verify,
    "close": services.appeal_close,
    "reopen": services.appeal_reopen,
    "reject": services.appeal_reject,
    "withdraw": services.appeal_withdraw,
    "extend_request": services.appeal_extend_request,
    "extend_decide": services.appeal_extend_decide,
    "supervise": services.appeal_supervise,
    "escalate": services.appeal_escalate,
    "whistle": services.appeal_whistle,
    "merge": services.appeal_merge,
}


@dataclass
class SimulatedClock:
    at: dt.datetime

    def now(self) -> dt.datetime:
        return self.at


@contextmanager
def simulated_clock(at: dt.datetime) -> Iterator[SimulatedClock]:
    """Make ``django.utils.timezone.now()`` answer ``clock.at`` inside the block.

    The services read the time with ``timezone.now()`` and take none as an argument (only
    the periodic job takes ``now``): to replay ninety days of work through them, each step
    runs with the clock set to its moment. The module attribute is replaced for this
    process only, and put back however the block ends. Field defaults that hold the real
    function itself (``AuditLog.at``) are out of its reach: the audit rows keep the real
    time at which the demo wrote them.
    """
    clock = SimulatedClock(at)
    real_now = timezone.now
    timezone.now = clock.now
    try:
        yield clock
    finally:
        timezone.now = real_now


def history_end(today: dt.date) -> dt.datetime:
    """When the simulated history ends: now, to the hour (so that two builds within the
    hour agree), or 16:00 of ``today`` when that is an earlier day."""
    now = timezone.localtime()
    if today >= now.date():
        return now.replace(minute=0, second=0, microsecond=0)
    return timezone.make_aware(dt.datetime.combine(today, dt.time(16)))


def build_appeals(*, district: Region, seed: int, scale: float, end: dt.datetime) -> dict[str, int]:
    """Write about ``400 × scale`` appeals (50 to 2,000) of the ``HISTORY_DAYS`` before ``end``
    for ``district``, every step through the appeal services; returns counts to print.

    Needs the district's users, leaf categories and holidays (``generator.generate`` makes
    them first). Takes some seconds at scale 1: every step is a real service call.
    """
    geo.invalidate()  # the generator's grids were bulk-created: no signal marked the index
    planner = Planner(district=district, seed=seed, scale=scale, end=end)
    _run(planner.plan(), start=planner.start, end=end)
    appeals = Appeal.objects.filter(district=district)
    return {
        "appeals": appeals.count(),
        "appeals_open": appeals.filter(status__in=sorted(OPEN_STATUSES - {Status.MERGED})).count(),
        "appeal_events": AppealEvent.objects.filter(appeal__district=district).count(),
    }


def _run(cases: list[Case], *, start: dt.datetime, end: dt.datetime) -> None:
    """Every step of every case in time order, with the periodic job at ``TICK_HOURS``."""
    items: list[tuple[dt.datetime, int, int, Case | None, Step | None]] = []
    for case in cases:
        for step in case.steps:
            items.append((step.at, 0, len(items), case, step))
    day = timezone.localtime(start).date()
    while day <= timezone.localtime(end).date():
        for hour in TICK_HOURS:
            tick = timezone.make_aware(dt.datetime.combine(day, dt.time(hour)))
            if start < tick <= end:
                items.append((tick, 1, len(items), None, None))
        day += dt.timedelta(days=1)
    items.sort(key=lambda item: item[:3])
    with simulated_clock(start) as clock:
        for at, _order, _n, case, step in items:
            clock.at = at
            if case is None or step is None:
                services.appeals_tick(now=at)
            else:
                _perform(case, step)


def _perform(case: Case, step: Step) -> None:
    kwargs = dict(step.kwargs)
    if step.action == "intake":
        appeal = services.appeal_intake(actor=step.actor, **kwargs)
        case.pk, case.code = appeal.pk, appeal.tracking_code
        return
    if step.action == "merge":
        kwargs["duplicates"] = [dup.pk for dup in kwargs["duplicates"]]
    if step.by_code and step.actor is None:
        # The resident's code, with the number they gave where they gave one.
        kwargs["tracking_code"] = case.code
        if step.action in ("verify", "reopen", "withdraw"):
            kwargs["reporter_phone"] = case.intake.get("reporter_phone")
    SERVICES[step.action](actor=step.actor, appeal=case.pk, **kwargs)
