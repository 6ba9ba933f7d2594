"""Concurrent runs of the nudges (PostgreSQL only): the spa's lock, the practice row lock and the dedupe keys
leave one rolled-up thank-you task with each practice on it once, and one fresh approach per period, however
many runs race."""

import threading

import pytest
from django.db import connection
from django_scopes import scope

from outreach.health.nudges import fresh_approaches_create, thank_you_suggestions_create
from outreach.models import Task, TaskKind, TaskPractice
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
    [task] = rows(Task, spa=spa, kind=TaskKind.THANK_YOU_NOTE)
    lines = rows(TaskPractice, spa=spa)
    assert {line.task_id for line in lines} == {task.pk}
    assert sorted(line.practice_id for line in lines) == sorted(practice.pk for practice in practices)


@postgres_only
@pytest.mark.django_db(transaction=True)
def test_concurrent_runs_add_a_new_practice_to_the_open_task_once(spa, owner):
    first = make_practice(spa, name="Thankful Derm", stage=Stage.ACTIVE, owner=owner)
    referral(first, at("2026-03-02 10:00"))
    with scope(spa=spa):
        assert thank_you_suggestions_create(spa=spa, now=at("2026-03-02 10:15")) == 1
    later = [make_practice(spa, name=f"Later Derm {n}", stage=Stage.ACTIVE, owner=owner) for n in range(3)]
    for practice in later:
        referral(practice, at("2026-03-04 10:00"))
    created, errors = race(spa, thank_you_suggestions_create, at("2026-03-04 10:15"))
    assert errors == []
    assert sum(created) == len(later)
    [task] = rows(Task, spa=spa, kind=TaskKind.THANK_YOU_NOTE)
    assert len(rows(TaskPractice, task=task)) == 4
    assert task.title == "Send thank-you notes: Thankful Derm, Later Derm 0, Later Derm 1, Later Derm 2"


@postgres_only
@pytest.mark.django_db(transaction=True)
def test_concurrent_fresh_approach_runs_create_one_per_period(spa, owner):
    practices = [declined(spa, owner, name=f"Declined Derm {n}") for n in range(5)]
    created, errors = race(spa, fresh_approaches_create, at("2026-03-15 09:00"))
    assert errors == []
    assert sum(created) == len(practices)
    tasks = rows(Task, spa=spa, kind=TaskKind.FRESH_APPROACH)
    assert sorted(task.practice_id for task in tasks) == sorted(practice.pk for practice in practices)
