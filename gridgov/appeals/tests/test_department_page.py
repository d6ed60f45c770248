"""A department's work queue is read in two halves (assigned to it, whistled to it) and
merged: the pages must hold exactly what the single OR query holds, in the same order."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from gridgov.appeals import selectors as sel
from gridgov.appeals.models import Appeal, AppealWhistle, Priority
from gridgov.appeals.tests.helpers import new_appeal, spot, superuser
from gridgov.territory.models import Department


def walk(actor, **filters) -> list[int]:
    """Every page of size 2, cursor after cursor."""
    seen, cursor = [], None
    while True:
        page = sel.appeal_page(actor=actor, cursor=cursor, size=2, **filters)
        seen += [a.pk for a in page.items]
        if not page.has_next:
            return seen
        cursor = page.next_cursor


@pytest.mark.django_db
def test_a_departments_pages_hold_its_assigned_and_whistled_cases_once_newest_first(
    territory, personas, cats
):
    root = superuser()
    other = Department.objects.create(code="D-ZJ", name="住建局", region=territory.district)
    appeals = [new_appeal(root, cats.sanitation, point=spot()) for _ in range(9)]
    assigned = appeals[0::3]  # 0, 3, 6
    whistled = appeals[1::3]  # 1, 4, 7
    both = appeals[8]
    Appeal.objects.filter(pk__in=[a.pk for a in [*assigned, both]]).update(
        assigned_department=territory.dept
    )
    Appeal.objects.filter(pk=appeals[2].pk).update(assigned_department=other)  # not ours
    Appeal.objects.filter(pk__in=[appeals[3].pk, appeals[7].pk]).update(priority=Priority.URGENT)
    deadline = timezone.now() + dt.timedelta(hours=2)
    for appeal in [*whistled, both]:
        AppealWhistle.objects.create(
            appeal=appeal, department=territory.dept, report_deadline=deadline
        )
    AppealWhistle.objects.create(appeal=appeals[5], department=other, report_deadline=deadline)

    handler = personas.handler
    expected = sorted((a.pk for a in [*assigned, *whistled, both]), reverse=True)
    assert walk(handler) == expected
    assert walk(handler) == list(sel.appeal_list(actor=handler).values_list("pk", flat=True))
    # A filter narrows both halves.
    assert walk(handler, priority=Priority.URGENT) == [appeals[7].pk, appeals[3].pk]
    # The page's rows carry what the list pages show.
    page = sel.appeal_page(actor=handler, size=50)
    assert page.items[0].category.name and not page.has_next and page.next_cursor is None


@pytest.mark.django_db
def test_a_departments_page_checks_its_size_and_cursor_as_any_page(personas):
    from gridgov.core.errors import ValidationFailed

    with pytest.raises(ValidationFailed) as size:
        sel.appeal_page(actor=personas.handler, size=0)
    assert size.value.field == "page_size"
    with pytest.raises(ValidationFailed) as cursor:
        sel.appeal_page(actor=personas.handler, cursor="not-a-cursor")
    assert cursor.value.field == "cursor"
