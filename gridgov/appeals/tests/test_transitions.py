"""Every (state, action) pair: allowed ones work, forbidden ones answer 409 and change nothing."""

from __future__ import annotations

import pytest

from gridgov.appeals import services as s
from gridgov.appeals.models import TRANSITIONS, Action, AppealEvent, Status
from gridgov.appeals.tests.helpers import appeal_in, step, superuser
from gridgov.core.errors import Conflict, PermissionDenied
from gridgov.core.models import AuditLog

ACTIONS = [str(a) for a in TRANSITIONS]


@pytest.mark.parametrize("action", ACTIONS)
def test_every_state_action_pair(action, territory, cats):
    actor = superuser()
    # An extension is decided by someone other than its requester and handler.
    decider = superuser("approver") if action == Action.EXTEND_DECIDE else actor
    allowed, target = TRANSITIONS[action]
    for state in Status.values:
        appeal = appeal_in(state, actor, territory, cats.sanitation)
        if action == Action.EXTEND_DECIDE and state in allowed:
            s.appeal_extend_request(actor=actor, appeal=appeal, working_days=2, reason="协调")
        before = AppealEvent.objects.filter(appeal=appeal).count()
        audits = AuditLog.objects.filter(target_type="appeals.appeal", target_id=str(appeal.pk))
        audits_before = audits.count()
        if state in allowed:
            result = step(action, appeal, decider, territory, cats.sanitation)
            result.refresh_from_db()
            assert result.status == (target or state), (state, action)
            last = AppealEvent.objects.filter(appeal=appeal).order_by("-pk").first()
            assert last.action == action, (state, action)
            assert last.from_status == state and last.to_status == result.status
            assert audits.count() == audits_before + 1, (state, action)
            assert audits.latest("pk").action == f"appeal.{action}"
        else:
            with pytest.raises(Conflict) as err:
                step(action, appeal, decider, territory, cats.sanitation)
            assert err.value.status == 409
            assert str(Status(state).label) in str(err.value.message), (state, action)
            appeal.refresh_from_db()
            assert appeal.status == state, (state, action)
            assert AppealEvent.objects.filter(appeal=appeal).count() == before, (state, action)
            assert audits.count() == audits_before, (state, action)


# Actions that need a capability whatever the case: whoever lacks it learns that (403),
# not the case's state (409).
CAPABILITY_ACTIONS = [
    Action.REGISTER,
    Action.CLOSE,
    Action.REJECT,
    Action.EXTEND_DECIDE,
    Action.SUPERVISE,
    Action.WHISTLE,
]


@pytest.mark.parametrize("action", [str(a) for a in CAPABILITY_ACTIONS])
def test_without_the_capability_the_answer_is_403_in_any_state(action, territory, cats, personas):
    allowed, _target = TRANSITIONS[action]
    refused_state = next(st for st in (Status.CLOSED, Status.HANDLED) if st not in allowed)
    appeal = appeal_in(refused_state, superuser(), territory, cats.sanitation)
    # The resident who reported it sees the case but holds no staff capability.
    appeal.reporter_user = personas.resident
    appeal.save(update_fields=["reporter_user"])
    with pytest.raises(PermissionDenied):
        step(action, appeal, personas.resident, territory, cats.sanitation)
