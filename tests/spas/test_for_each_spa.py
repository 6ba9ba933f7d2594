"""for_each_spa: the fan-out of the periodic jobs over every tenant, one spa at a time inside its own scope."""

import pytest
from django_scopes import get_scope

from spas.tenancy import for_each_spa

pytestmark = pytest.mark.django_db


def test_each_spa_is_worked_on_inside_its_own_scope_and_the_results_add_up(spa, other_spa):
    seen = []

    def work(current):
        seen.append((current.pk, get_scope()["spa"].pk))
        return 2

    assert for_each_spa(work) == 4
    assert sorted(seen) == sorted([(spa.pk, spa.pk), (other_spa.pk, other_spa.pk)])


def test_a_failing_spa_stops_the_job_unless_asked_to_keep_going(spa, other_spa, caplog):
    def work(current):
        if current.pk == spa.pk:
            raise ValueError("bad data")
        return 1

    with pytest.raises(ValueError):
        for_each_spa(work)

    assert for_each_spa(work, keep_going=True, label="Reminders") == 1
    assert f"Reminders failed for spa {spa.pk}" in caplog.text


def test_a_spa_deleted_while_the_job_runs_is_skipped(spa, other_spa):
    first, second = sorted([spa, other_spa], key=lambda s: s.pk)
    worked = []

    def work(current):
        worked.append(current.pk)
        if current.pk == first.pk:
            type(second).objects.filter(pk=second.pk).delete()
        return 1

    assert for_each_spa(work) == 1
    assert worked == [first.pk]
