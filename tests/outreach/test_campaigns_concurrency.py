"""Campaign writes racing each other (PostgreSQL only: SQLite serialises everything): two hourly jobs at the
same moment create each missing step task once; stopping a campaign while someone ticks off its task neither
deadlocks nor leaves an open campaign task behind."""

import threading

import pytest
from django.db import connection
from django_scopes import scope
from freezegun import freeze_time

import outreach.campaigns.services  # noqa: F401 - registers the task hooks (apps.ready imports it too)
from outreach.activity import services as activity
from outreach.campaigns import services as campaigns
from outreach.models import Campaign, CampaignEnrollment, Task
from tests.conftest import postgres_only

from ..factories import LetterTemplateFactory
from .helpers import make_practice, rows

RUNNERS = 2


def _launched(spa, actor, count=4):
    with scope(spa=spa):
        for number in range(count):
            make_practice(spa, name=f"Concurrent Oncology {number}", specialty="oncology")
        letter = LetterTemplateFactory(spa=spa)
        return campaigns.campaign_save(
            spa=spa,
            actor=actor,
            fields={"name": "Race"},
            segment={"specialty": "oncology"},
            steps=[
                {"kind": "letter", "days_after_previous": 0, "letter_template": letter},
                {"kind": "phone_call", "days_after_previous": 5},
            ],
            launch=True,
        )


def _race(*works):
    barrier = threading.Barrier(len(works))
    results = [None] * len(works)
    errors = []

    def run(index, work):
        try:
            barrier.wait(timeout=30)
            results[index] = work()
        except Exception as error:  # noqa: BLE001 - reported below, with the runner's index
            errors.append((index, repr(error)))
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(index, work)) for index, work in enumerate(works)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return results, errors


@postgres_only
@pytest.mark.django_db(transaction=True)
def test_two_concurrent_hourly_runs_create_each_missing_task_once(spa, manager_user):
    with freeze_time("2026-03-02 15:00:00"):
        campaign = _launched(spa, manager_user)
    with scope(spa=spa):
        Task.objects.filter(campaign_enrollment__campaign=campaign).delete()

    def advance():
        with scope(spa=spa):
            return campaigns.campaigns_advance(spa=spa)

    created, errors = _race(advance, advance)

    assert errors == []
    assert sum(created) == 4
    tasks = rows(Task, campaign_enrollment__campaign=campaign)
    assert len(tasks) == 4
    assert len({task.dedupe_key for task in tasks}) == 4


@postgres_only
@pytest.mark.django_db(transaction=True)
def test_stopping_while_a_task_is_ticked_off_leaves_no_open_campaign_task(spa, manager_user, owner):
    campaign = _launched(spa, manager_user)
    with scope(spa=spa):
        letter_task = Task.objects.filter(campaign_enrollment__campaign=campaign).order_by("pk").first()

    def stop():
        with scope(spa=spa):
            return campaigns.campaign_stop(campaign=campaign, actor=manager_user)

    def tick():
        with scope(spa=spa):
            return activity.task_complete(task=letter_task, actor=owner)

    _results, errors = _race(stop, tick)

    # Either order is fine; when the stop came first the task is gone, which the tick may report.
    assert [error for error in errors if "DoesNotExist" not in error[1]] == []
    assert rows(Campaign, pk=campaign.pk)[0].status == Campaign.Status.FINISHED
    assert rows(Task, campaign_enrollment__campaign=campaign, done_at=None) == []
    assert {e.status for e in rows(CampaignEnrollment, campaign=campaign)} == {CampaignEnrollment.Status.STOPPED}
