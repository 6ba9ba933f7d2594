"""Two webhook sweeps at the same moment (two beats, or a sweep meeting a drain) on PostgreSQL, each on its own
connection: every event reaches the receiver exactly once — the claim (``FOR UPDATE SKIP LOCKED`` under a lease)
never gives one row to both — and a third sweep finds nothing left."""

import threading

import pytest
from django.db import connection
from django_scopes import scope, scopes_disabled

from referrals.models import WebhookAttempt, WebhookDelivery
from referrals.webhooks.tasks import webhook_sweep_task
from tests.conftest import postgres_only
from tests.factories import PracticeFactory
from tests.referrals.portal_helpers import make_referral
from tests.referrals.webhook_helpers import Receiver, make_endpoint, verified

pytestmark = [postgres_only, pytest.mark.django_db(transaction=True)]
EVENTS = 23  # more than two batches of ten: the sweeps take turns claiming


def _at_once(task, runs=2):
    barrier = threading.Barrier(runs)
    results, errors = [None] * runs, []

    def run(index):
        try:
            barrier.wait(timeout=30)
            results[index] = task()
        except Exception as error:  # noqa: BLE001 - reported below
            errors.append(repr(error))
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(index,), daemon=True) for index in range(runs)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert errors == []
    return results


def test_two_sweeps_at_once_deliver_each_event_exactly_once(spa, owner, settings):
    settings.WEBHOOKS_ALLOW_PRIVATE_ADDRESSES = True
    with scope(spa=spa):
        practice = PracticeFactory(spa=spa, name="Brookline Dermatology")
    with Receiver() as receiver:
        _endpoint, secret = make_endpoint(spa, receiver.url, actor=owner)
        for _ in range(EVENTS):
            make_referral(practice)  # each commits, and the eager drain of the test settings delivers it
        assert len(receiver.received) == EVENTS
        # Back to waiting, as if every drain request had been lost: the sweeps are what is under test.
        receiver.received.clear()
        with scopes_disabled():
            WebhookAttempt.objects.all().delete()
            WebhookDelivery.objects.update(status=WebhookDelivery.Status.PENDING, attempts=0, succeeded_at=None)

        results = _at_once(webhook_sweep_task)

        assert sum(results) == EVENTS
        ids = [request.headers["webhook-id"] for request in receiver.received]
        assert len(ids) == len(set(ids)) == EVENTS
        assert all(verified(request, secret) for request in receiver.received)
        assert webhook_sweep_task() == 0
        assert len(receiver.received) == EVENTS
    with scopes_disabled():
        assert set(WebhookDelivery.objects.values_list("status", "attempts")) == {(WebhookDelivery.Status.SUCCEEDED, 1)}
        assert WebhookAttempt.objects.count() == EVENTS
