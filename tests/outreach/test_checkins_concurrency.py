"""Two beat processes running the check-in job at the same moment (PostgreSQL only: SQLite serialises
everything): each due practice still gets exactly one task and its assignee exactly one email."""

import threading

import pytest
from django.db import connection
from django_scopes import scope

from infra.models import OutgoingEmail
from outreach.health.checkins import check_ins_create_due
from outreach.models import Task, TaskKind
from tests.conftest import postgres_only

from .helpers import rows
from .test_checkins import at, make_active

RUNNERS = 2


@postgres_only
@pytest.mark.django_db(transaction=True)
def test_two_concurrent_runs_create_one_task_and_one_email_per_practice(spa, owner, staff_user):
    practices = [
        make_active(spa, name=f"Concurrent Dermatology {number}", owner=owner if number % 2 else staff_user)
        for number in range(6)
    ]
    barrier = threading.Barrier(RUNNERS)
    created = [None] * RUNNERS
    errors = []

    def run(index):
        try:
            with scope(spa=spa):
                barrier.wait(timeout=30)
                created[index] = check_ins_create_due(spa=spa, now=at("2026-04-06 09:00"))
        except Exception as error:  # noqa: BLE001 - reported below, with the runner's index
            errors.append((index, repr(error)))
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(index,)) for index in range(RUNNERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    assert errors == []
    assert sum(created) == len(practices)
    tasks = rows(Task, spa=spa, kind=TaskKind.CHECK_IN)
    assert sorted(task.practice_id for task in tasks) == sorted(practice.pk for practice in practices)
    emails = rows(OutgoingEmail, spa=spa, template="check-in-due")
    # One email per assignee (each listing their three), sent by the run whose inserts won.
    assert sorted(email.to for email in emails) == sorted([owner.email, staff_user.email])
