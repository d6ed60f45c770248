"""Walk an appeal into any state through the services (as a superuser unless told)."""

from __future__ import annotations

import itertools
from typing import Any

from gridgov.accounts.models import Role, User
from gridgov.appeals import services as s
from gridgov.appeals.models import Appeal, Channel, Rating, Status
from gridgov.appeals.tests.conftest import POINT_A

PATHS: dict[str, list[str]] = {
    Status.RECEIVED: [],
    Status.REGISTERED: ["register"],
    Status.DISPATCHED: ["register", "dispatch"],
    Status.ACCEPTED: ["register", "dispatch", "accept"],
    Status.RETURNED: ["register", "dispatch", "accept", "return"],
    Status.HANDLED: ["register", "dispatch", "accept", "handle"],
    Status.VERIFIED: ["register", "dispatch", "accept", "handle", "verify"],
    Status.CLOSED: ["register", "dispatch", "accept", "handle", "verify", "close"],
    Status.REJECTED: ["reject"],
    Status.WITHDRAWN: ["withdraw"],
    Status.MERGED: ["merge"],
}


def superuser(username: str = "root") -> User:
    return User.objects.create_user(
        username=username, password="x", is_superuser=True, is_staff=True, role=Role.DISTRICT_ADMIN
    )


def other_superuser() -> User:
    """A second superuser (for 回访 of a case the first one handled)."""
    return User.objects.filter(username="root_verifier").first() or superuser("root_verifier")


_spots = itertools.count()


def staff_client(user: User) -> Any:
    """A test client signed in as ``user``, who may open the back office."""
    from django.test import Client

    user.is_staff = True
    user.save()
    client = Client()
    client.force_login(user)
    return client


def spot() -> tuple[float, float]:
    """A point inside grid_a, ≥ 160 m from the previous 35 (keeps duplicate checks empty)."""
    i = next(_spots) % 36
    return (34.7505 + (i % 6) * 0.0015, 114.3505 + (i // 6) * 0.0015)


def new_appeal(
    actor: Any,
    category: Any,
    *,
    description: str = "楼道灯坏了",
    point: tuple[float, float] = POINT_A,
    **extra: Any,
) -> Appeal:
    return s.appeal_intake(
        actor=actor,
        channel=extra.pop("channel", Channel.DOORSTEP),
        category=category,
        description=description,
        latitude=point[0],
        longitude=point[1],
        **extra,
    )


def step(name: str, appeal: Appeal, actor: Any, t: Any, category: Any = None) -> Appeal:
    """Perform one named action with sensible arguments."""
    if name == "register":
        return s.appeal_register(actor=actor, appeal=appeal)
    if name == "dispatch":
        return s.appeal_dispatch(actor=actor, appeal=appeal, grid=t.grid_a)
    if name == "accept":
        return s.appeal_accept(actor=actor, appeal=appeal)
    if name == "handle":
        return s.appeal_handle(actor=actor, appeal=appeal, result="已修复")
    if name == "return":
        return s.appeal_return(actor=actor, appeal=appeal, reason="不属于本单位职责")
    if name == "verify":
        # Never by whoever recorded the handling (separation of duties): another superuser.
        if s.handled_by(appeal) == actor.pk:
            actor = other_superuser()
        return s.appeal_verify(actor=actor, appeal=appeal, rating=Rating.SATISFIED, resolved=True)
    if name == "close":
        return s.appeal_close(actor=actor, appeal=appeal)
    if name == "reopen":
        return s.appeal_reopen(actor=actor, appeal=appeal, reason="居民不满意")
    if name == "reject":
        return s.appeal_reject(actor=actor, appeal=appeal, reason="无效诉求")
    if name == "withdraw":
        return s.appeal_withdraw(actor=actor, appeal=appeal, reason="已自行解决")
    if name == "extend_request":
        return s.appeal_extend_request(actor=actor, appeal=appeal, working_days=2, reason="需协调")
    if name == "extend_decide":
        return s.appeal_extend_decide(actor=actor, appeal=appeal, approve=True)
    if name == "supervise":
        return s.appeal_supervise(actor=actor, appeal=appeal, note="请尽快办理")
    if name == "escalate":
        return s.appeal_escalate(actor=actor, appeal=appeal, reason="网格无法解决")
    if name == "whistle":
        return s.appeal_whistle(actor=actor, appeal=appeal, departments=[t.dept])
    if name == "merge":
        primary = new_appeal(actor, category or appeal.category, description="主件", point=spot())
        s.appeal_merge(actor=actor, appeal=primary, duplicates=[appeal])
        appeal.refresh_from_db()
        return appeal
    raise AssertionError(name)


def appeal_in(state: str, actor: Any, t: Any, category: Any) -> Appeal:
    appeal = new_appeal(actor, category, point=spot())
    for name in PATHS[state]:
        appeal = step(name, appeal, actor, t, category)
    appeal.refresh_from_db()
    assert appeal.status == state, (state, appeal.status)
    return appeal


def local(*args: int) -> Any:
    """An aware datetime in the project's time zone (Asia/Shanghai)."""
    import datetime as dt

    from django.utils import timezone

    return timezone.make_aware(dt.datetime(*args))


def frozen(moment: Any) -> Any:
    """Freeze ``django.utils.timezone.now`` (what every service reads) at ``moment``."""
    from unittest import mock

    return mock.patch("django.utils.timezone.now", return_value=moment)
