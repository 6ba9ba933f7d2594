"""Outgoing webhooks end to end: a real HTTP server on 127.0.0.1 receives each event and checks its signature
with the spec's algorithm; the outbox writes in the causing transaction, retries with backoff, gives up, and
loses nothing when the drain is lost or a worker dies."""

import json
from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone
from django_scopes import scope, scopes_disabled
from standardwebhooks import Webhook

from infra.models import AuditEvent
from referrals.models import WebhookDelivery, WebhookEndpoint
from referrals.services import referral_log_attempt, referral_transition
from referrals.webhooks import addresses, events, transport
from referrals.webhooks import delivery as webhook_delivery
from referrals.webhooks.tasks import webhook_log_purge_task, webhook_sweep_task
from spa_referrals.celery import app

from .portal_helpers import make_referral
from .webhook_helpers import Receiver, Reply, attempts, deliveries, make_due, make_endpoint, verified

Status = WebhookDelivery.Status


@pytest.fixture(autouse=True)
def _local_receivers_allowed(settings):
    settings.WEBHOOKS_ALLOW_PRIVATE_ADDRESSES = True  # the receiver is on loopback


@pytest.fixture
def receiver():
    with Receiver() as running:
        yield running


def test_a_new_referral_reaches_the_receiver_signed_with_ids_and_status_only(spa, practice_a, owner, receiver):
    _endpoint, secret = make_endpoint(spa, receiver.url, actor=owner)
    referral = make_referral(practice_a, first="Ada", last="Lovelace")

    assert webhook_sweep_task() == 1

    [request] = receiver.received
    [delivery] = deliveries()
    assert request.path == "/hooks/spa"
    assert request.headers["content-type"] == "application/json"
    assert request.headers["webhook-id"] == f"msg_{delivery.public_id.hex}"
    assert verified(request, secret)
    assert Webhook(secret).verify(request.body, request.headers)["type"] == "referral.received"
    assert request.json == {
        "type": "referral.received",
        "timestamp": referral.received_at.isoformat().replace("+00:00", "Z"),
        "data": {
            "spa": spa.slug,
            "referral_id": str(referral.public_id),
            "status": "received",
            "practice_id": str(practice_a.public_id),
            "clinician_id": None,
        },
    }
    assert "Lovelace" not in request.body.decode() and "555" not in request.body.decode()
    assert (delivery.status, delivery.attempts, delivery.last_response_code) == (Status.SUCCEEDED, 1, 200)
    [attempt] = attempts()
    assert (attempt.response_code, attempt.response_snippet, attempt.number) == (200, "ok", 1)


def test_the_signature_check_fails_for_another_body_or_another_secret(spa, practice_a, owner, receiver):
    _endpoint, secret = make_endpoint(spa, receiver.url, actor=owner)
    make_referral(practice_a)
    webhook_sweep_task()
    [request] = receiver.received

    tampered = type(request)(request.path, request.headers, request.body.replace(b"received", b"accepted"))
    assert verified(request, secret)
    assert not verified(tampered, secret)
    assert not verified(request, "whsec_" + "A" * 43 + "=")


def test_the_event_row_is_written_in_the_causing_transaction_and_rolls_back_with_it(spa, practice_a, owner, receiver):
    make_endpoint(spa, receiver.url, events=["referral.accepted"], actor=owner)
    referral = make_referral(practice_a)
    with scope(spa=spa), pytest.raises(RuntimeError), transaction.atomic():
        referral_transition(referral=referral, to_status="accepted", actor=owner)
        assert [row.event_type for row in deliveries()] == ["referral.accepted"]
        raise RuntimeError("the request failed after the move")

    assert deliveries() == []
    assert webhook_sweep_task() == 0
    assert receiver.received == []


def test_an_event_whose_drain_request_was_lost_is_delivered_by_the_sweep(
    spa, practice_a, owner, receiver, monkeypatch, django_capture_on_commit_callbacks
):
    make_endpoint(spa, receiver.url, actor=owner)

    def broker_down(*args, **kwargs):
        raise ConnectionError("broker unreachable")

    monkeypatch.setattr(events, "enqueue", broker_down)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        make_referral(practice_a)

    assert callbacks  # the commit asked for a drain, which never came
    assert receiver.received == []
    assert [row.status for row in deliveries()] == [Status.PENDING]
    assert webhook_sweep_task() == 1
    assert len(receiver.received) == 1


def test_after_commit_a_drain_is_asked_for_and_delivers(
    spa, practice_a, owner, receiver, django_capture_on_commit_callbacks
):
    make_endpoint(spa, receiver.url, actor=owner)
    with django_capture_on_commit_callbacks(execute=True):
        make_referral(practice_a)

    assert len(receiver.received) == 1  # the eager drain of the test settings ran after the commit
    assert [row.status for row in deliveries()] == [Status.SUCCEEDED]


def test_a_delivery_held_by_a_dead_worker_is_sent_again_once_its_lease_runs_out(spa, practice_a, owner, receiver):
    make_endpoint(spa, receiver.url, actor=owner)
    make_referral(practice_a)
    [claimed] = webhook_delivery._claim_batch(10)  # a worker claims it, then dies before posting

    assert webhook_sweep_task() == 0  # its lease still holds
    assert receiver.received == []
    with scopes_disabled():
        WebhookDelivery.objects.filter(pk=claimed).update(locked_until=timezone.now() - timedelta(seconds=1))
    assert webhook_sweep_task() == 1
    assert len(receiver.received) == 1


def test_a_failure_is_retried_with_backoff_and_the_log_keeps_each_answer(spa, practice_a, owner, receiver):
    make_endpoint(spa, receiver.url, actor=owner)
    make_referral(practice_a)
    receiver.replies = [Reply(500, b"database is down")]

    before = timezone.now()
    assert webhook_sweep_task() == 0
    [delivery] = deliveries()
    assert (delivery.status, delivery.attempts, delivery.last_response_code) == (Status.FAILED, 1, 500)
    # The first wait is 30 s, give or take the 20 % jitter.
    assert before + timedelta(seconds=24) <= delivery.next_attempt_at <= timezone.now() + timedelta(seconds=36)
    assert webhook_sweep_task() == 0  # not due yet
    assert len(receiver.received) == 1

    make_due()
    assert webhook_sweep_task() == 1
    [delivery] = deliveries()
    assert (delivery.status, delivery.attempts, delivery.last_response_code) == (Status.SUCCEEDED, 2, 200)
    log = attempts()
    assert [(row.number, row.response_code, row.response_snippet) for row in log] == [
        (1, 500, "database is down"),
        (2, 200, "ok"),
    ]
    first, second = receiver.received
    assert first.headers["webhook-id"] == second.headers["webhook-id"]  # the receiver can drop a repeat
    assert first.body == second.body


def test_after_the_last_attempt_the_delivery_is_dead(spa, practice_a, owner, receiver, settings):
    settings.WEBHOOKS_MAX_ATTEMPTS = 3
    make_endpoint(spa, receiver.url, actor=owner)
    make_referral(practice_a)
    receiver.replies = [Reply(503, b"busy")] * 5

    for _attempt in range(4):
        make_due()
        webhook_sweep_task()

    [delivery] = deliveries()
    assert (delivery.status, delivery.attempts) == (Status.DEAD, 3)
    assert len(receiver.received) == 3
    assert [row.response_code for row in attempts()] == [503, 503, 503]


def test_retry_after_is_honoured(spa, practice_a, owner, receiver):
    make_endpoint(spa, receiver.url, actor=owner)
    make_referral(practice_a)
    receiver.replies = [Reply(429, b"slow down", {"Retry-After": "600"})]

    webhook_sweep_task()

    [delivery] = deliveries()
    assert delivery.status == Status.FAILED
    assert delivery.next_attempt_at >= timezone.now() + timedelta(seconds=590)


def test_the_waits_double_with_jitter_up_to_the_cap():
    for attempt in range(1, 16):
        base = min(30 * 2 ** (attempt - 1), 8 * 3600)
        delay = webhook_delivery.retry_delay(attempt).total_seconds()
        assert 0.8 * base <= delay <= 1.2 * base
    delays = {webhook_delivery.retry_delay(5).total_seconds() for _ in range(20)}
    assert len(delays) > 1  # jittered, so failed deliveries do not come back in step


def test_410_gone_gives_up_and_disables_the_endpoint(spa, practice_a, owner, receiver):
    endpoint, _secret = make_endpoint(spa, receiver.url, actor=owner)
    make_referral(practice_a)
    receiver.replies = [Reply(410, b"gone")]

    webhook_sweep_task()

    [delivery] = deliveries()
    assert delivery.status == Status.DEAD
    with scopes_disabled():
        endpoint.refresh_from_db()
        assert AuditEvent.objects.filter(action="webhook_endpoint.disabled", object_id=str(endpoint.public_id)).exists()
    assert not endpoint.active and "410" in endpoint.disabled_reason
    make_referral(practice_a)
    assert len(deliveries()) == 1  # a disabled endpoint gets no new events


def test_a_redirect_is_not_followed(spa, practice_a, owner, receiver):
    make_endpoint(spa, receiver.url, actor=owner)
    make_referral(practice_a)
    elsewhere = receiver.url.replace("/hooks/spa", "/elsewhere")
    receiver.replies = [Reply(302, b"", {"Location": elsewhere})]

    webhook_sweep_task()

    assert [request.path for request in receiver.received] == ["/hooks/spa"]
    [delivery] = deliveries()
    assert (delivery.status, delivery.last_response_code) == (Status.FAILED, 302)


def test_a_receiver_that_does_not_answer_in_time_is_a_failure(spa, practice_a, owner, receiver, monkeypatch):
    monkeypatch.setattr(transport, "READ_TIMEOUT_SECONDS", 0.3)
    make_endpoint(spa, receiver.url, actor=owner)
    make_referral(practice_a)
    receiver.replies = [Reply(200, b"too late", delay=1.0)]

    webhook_sweep_task()

    [delivery] = deliveries()
    assert (delivery.status, delivery.last_response_code) == (Status.FAILED, None)
    assert "timed out" in delivery.last_error
    [attempt] = attempts()
    assert attempt.response_code is None and "timed out" in attempt.error


def test_a_closed_port_is_a_failure_recorded_with_its_error(spa, practice_a, owner):
    with Receiver() as gone:
        url = gone.url
    make_endpoint(spa, url, actor=owner)
    make_referral(practice_a)

    webhook_sweep_task()

    [delivery] = deliveries()
    assert delivery.status == Status.FAILED
    assert "ConnectionRefusedError" in delivery.last_error


def test_events_follow_the_lifecycle_and_only_the_chosen_ones_are_sent(spa, practice_a, owner, receiver):
    make_endpoint(
        spa,
        receiver.url,
        events=["referral.accepted", "referral.scheduled", "referral.completed", "referral.declined"],
        actor=owner,
    )
    referral = make_referral(practice_a)
    declined = make_referral(practice_a)
    with scope(spa=spa):
        referral = referral_transition(referral=referral, to_status="accepted", actor=owner)
        referral = referral_log_attempt(referral=referral, outcome="reached", actor=owner)  # contacted: not an event
        referral = referral_transition(
            referral=referral, to_status="scheduled", actor=owner, scheduled_for=timezone.now() + timedelta(days=2)
        )
        referral_transition(referral=referral, to_status="completed", actor=owner)
        referral_transition(referral=declined, to_status="declined", actor=owner, reason="Not a fit")

    assert webhook_sweep_task() == 4
    sent = [(request.json["type"], request.json["data"]["status"]) for request in receiver.received]
    assert sorted(sent) == sorted(
        [
            ("referral.accepted", "accepted"),
            ("referral.scheduled", "scheduled"),
            ("referral.completed", "completed"),
            ("referral.declined", "declined"),
        ]
    )


def test_a_practices_endpoint_hears_only_about_that_practices_referrals(spa, practice_a, practice_b, owner, receiver):
    make_endpoint(spa, receiver.url, practice=practice_b, actor=owner)
    make_referral(practice_a)
    assert deliveries() == []
    make_referral(practice_b)
    webhook_sweep_task()
    assert [request.json["data"]["practice_id"] for request in receiver.received] == [str(practice_b.public_id)]


def test_another_spas_events_never_reach_this_spas_endpoint(spa, other_spa_practice, owner, receiver):
    make_endpoint(spa, receiver.url, actor=owner)
    make_referral(other_spa_practice)
    assert deliveries() == []
    assert webhook_sweep_task() == 0


def test_a_disabled_endpoints_waiting_deliveries_are_dropped_unsent(spa, practice_a, owner, receiver):
    endpoint, _secret = make_endpoint(spa, receiver.url, actor=owner)
    make_referral(practice_a)
    with scopes_disabled():
        WebhookEndpoint.objects.filter(pk=endpoint.pk).update(active=False)

    webhook_sweep_task()

    [delivery] = deliveries()
    assert delivery.status == Status.DEAD and "disabled" in delivery.last_error
    assert receiver.received == []


def test_the_connection_goes_to_the_checked_address_not_a_second_lookup(spa, practice_a, owner, receiver, monkeypatch):
    """DNS rebinding: the name is resolved once, checked, and that address is used. The host name below does not
    resolve on this machine, so a second lookup (by http.client) would fail the delivery."""
    monkeypatch.setattr(addresses, "_resolve", lambda host, port: ["127.0.0.1"] if host == "rebind.test" else [])
    port = receiver.server.server_port
    make_endpoint(spa, f"http://rebind.test:{port}/hooks/spa", actor=owner)
    make_referral(practice_a)

    assert webhook_sweep_task() == 1
    [request] = receiver.received
    assert request.headers["host"] == f"rebind.test:{port}"


def test_the_nightly_purge_forgets_deliveries_that_ended_a_month_ago(spa, practice_a, owner, receiver):
    make_endpoint(spa, receiver.url, actor=owner)
    for _ in range(3):
        make_referral(practice_a)
    receiver.replies = [Reply(200), Reply(500)]
    webhook_sweep_task()  # one delivered, one failed (retrying), one delivered
    old = timezone.now() - timedelta(days=31)
    with scopes_disabled():
        WebhookDelivery.objects.update(created_at=old)

    assert webhook_log_purge_task() == 2 + 2  # two deliveries and their two attempts

    assert [row.status for row in deliveries()] == [Status.FAILED]
    assert len(attempts()) == 1


def test_the_body_is_compact_json_in_utf8(spa, practice_a, owner, receiver):
    make_endpoint(spa, receiver.url, actor=owner)
    make_referral(practice_a)
    webhook_sweep_task()
    [request] = receiver.received
    assert request.body == json.dumps(request.json, separators=(",", ":"), ensure_ascii=False).encode()


def test_the_sweep_runs_every_minute_and_the_purge_nightly_from_the_beat_schedule():
    schedule = {entry["task"]: entry["schedule"] for entry in app.conf.beat_schedule.values()}
    assert schedule["referrals.tasks.webhook_sweep_task"] == 60.0
    assert "referrals.tasks.webhook_log_purge_task" in schedule


def test_a_delivery_that_breaks_unexpectedly_fails_alone_and_the_others_go_out(
    spa, practice_a, owner, receiver, monkeypatch
):
    make_endpoint(spa, receiver.url, actor=owner)
    broken = make_referral(practice_a)
    make_referral(practice_a)
    original = webhook_delivery._payload_for

    def breaks_for_one(delivery):
        if delivery.referral_id == broken.pk:
            raise KeyError("a bug")
        return original(delivery)

    monkeypatch.setattr(webhook_delivery, "_payload_for", breaks_for_one)

    assert webhook_sweep_task() == 1

    assert len(receiver.received) == 1
    failed = [row for row in deliveries() if row.referral_id == broken.pk]
    assert failed[0].status == Status.FAILED and "KeyError" in failed[0].last_error
