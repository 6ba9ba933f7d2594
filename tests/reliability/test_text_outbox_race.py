"""The text outbox under concurrency, on PostgreSQL with real connections: two workers handed the same row at the
same moment (a redelivered message, the sweep beside the after-commit request) send it once, and a revocation
committed before a worker claims the text cancels it, and one racing a worker's claim either cancels it (nothing
sent) or finds it taken (sent), never both nor neither."""

import threading

import pytest
from django.db import connection
from django_scopes import scope, scopes_disabled

from infra import sms_outbox
from infra.models import OutgoingText
from tests.conftest import postgres_only
from tests.referrals.twilio_helpers import FakeTwilio

pytestmark = [postgres_only, pytest.mark.django_db(transaction=True)]
WAIT = 20


@pytest.fixture
def twilio(settings):
    fake = FakeTwilio(delay=0.3).start()
    settings.TWILIO_ACCOUNT_SID = "AC" + "0" * 32
    settings.TWILIO_AUTH_TOKEN = "token"  # noqa: S105 - a test double's
    settings.TWILIO_API_URL = fake.url
    yield fake
    fake.stop()


def _waiting_text(spa):
    with scope(spa=spa):
        # Committed (transaction=True): its after-commit request runs the send eagerly; take it back to pending.
        text = sms_outbox.text_enqueue(spa=spa, to="+16175550142", from_number="+16175550100", body="Thank you")
    with scopes_disabled():
        OutgoingText.objects.filter(pk=text.pk).update(status="pending", attempts=0, sent_at=None)
    return text


def _deliver_in_threads(text_id, count):
    barrier = threading.Barrier(count)
    results, errors = [], []

    def worker():
        try:
            barrier.wait(timeout=WAIT)
            results.append(sms_outbox.text_deliver(text_id))
        except Exception as error:  # noqa: BLE001 - reported by the test
            errors.append(repr(error))
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, daemon=True) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=WAIT)
    return results, errors


def test_two_workers_handed_the_same_text_at_once_send_it_once(spa, twilio):
    text = _waiting_text(spa)
    already = len(twilio.requests)  # the after-commit send of the setup
    results, errors = _deliver_in_threads(text.pk, 2)
    assert errors == []
    assert sorted(results, key=str) == [None, "sent"]
    assert len(twilio.requests) - already == 1


def test_a_text_cancelled_before_the_claim_is_not_sent_by_any_worker(spa, twilio):
    text = _waiting_text(spa)
    already = len(twilio.requests)
    with scope(spa=spa):
        assert sms_outbox.text_cancel(spa=spa, text_id=text.pk, reason="revoked") is True
    results, errors = _deliver_in_threads(text.pk, 2)
    assert errors == [] and results == [None, None]
    assert len(twilio.requests) == already
    with scopes_disabled():
        assert OutgoingText.objects.get(pk=text.pk).status == "cancelled"


def test_a_revocation_racing_the_worker_either_cancels_the_text_or_lets_it_go_never_both(spa, twilio):
    text = _waiting_text(spa)
    already = len(twilio.requests)
    barrier = threading.Barrier(2)
    cancelled = []

    def revoke():
        try:
            barrier.wait(timeout=WAIT)
            with scope(spa=spa):
                cancelled.append(sms_outbox.text_cancel(spa=spa, text_id=text.pk, reason="revoked"))
        finally:
            connection.close()

    revoker = threading.Thread(target=revoke, daemon=True)
    revoker.start()
    barrier.wait(timeout=WAIT)
    delivered = sms_outbox.text_deliver(text.pk)  # this thread is the worker
    revoker.join(timeout=WAIT)
    with scopes_disabled():
        status = OutgoingText.objects.get(pk=text.pk).status
    sent = len(twilio.requests) - already
    assert (cancelled, delivered, status, sent) in [([True], None, "cancelled", 0), ([False], "sent", "sent", 1)]
