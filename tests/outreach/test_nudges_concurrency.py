"""Concurrent runs of the nudges (PostgreSQL only): the practice row lock and the dedupe keys leave one
thank-you suggestion per practice and one fresh approach per period, however many runs race."""

import threading

import pytest
from django.db import connection
from django_scopes import scope

from outreach.models import Task, TaskKind
from outreach.nudges import fresh_approaches_create, thank_you_suggestions_create
from partners.models import Stage
from tests.conftest import postgres_only

from .helpers import make_practice, rows
from .test_checkins import at
from .test_nudges import declined, referral

RUNNERS = 4


def race(spa, job, now):
    barrier = threading.Barrier(RUNNERS)
    created = [None] * RUNNERS
    errors = []

    def run(index):
        try:
            with scope(spa=spa):
                barrier.wait(timeout=30)
                created[index] = job(spa=spa, now=now)
        except Exception as error:  # noqa: BLE001 - reported below, with the runner's index
            errors.append((index, repr(error)))
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(index,)) for index in range(RUNNERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return created, errors


@postgres_only
@pytest.mark.django_db(transaction=True)
def test_concurrent_thank_you_runs_suggest_once_per_practice(spa, owner):
    practices = [make_practice(spa, name=f"Thankful Derm {n}", stage=Stage.ACTIVE, owner=owner) for n in range(5)]
    for practice in practices:
        referral(practice, at("2026-03-02 10:00"))
    created, errors = race(spa, thank_you_suggestions_create, at("2026-03-02 10:15"))
    assert errors == []
    assert sum(created) == len(practices)
    tasks = rows(Task, spa=spa, kind=TaskKind.THANK_YOU_NOTE)
    assert sorted(task.practice_id for task in tasks) == sorted(practice.pk for practice in practices)


@postgres_only
@pytest.mark.django_db(transaction=True)
def test_concurrent_fresh_approach_runs_create_one_per_period(spa, owner):
    practices = [declined(spa, owner, name=f"Declined Derm {n}") for n in range(5)]
    created, errors = race(spa, fresh_approaches_create, at("2026-03-15 09:00"))
    assert errors == []
    assert sum(created) == len(practices)
    tasks = rows(Task, spa=spa, kind=TaskKind.FRESH_APPROACH)
    assert sorted(task.practice_id for task in tasks) == sorted(practice.pk for practice in practices)
