"""Patient follow-up under concurrency, on PostgreSQL with real connections: a revocation committed while the
sender holds a follow-up's claim stops the message (the sender reads consent again under its lock), revoking never
waits for a mail run, and two beats sending at once send each thank-you once."""

import datetime
import threading
import time

import pytest
from django.db import connection
from django.utils import timezone
from django_scopes import scope, scopes_disabled

from infra.models import OutgoingEmail
from referrals.consent import services as consent
from referrals.followup import services as follow_up_services
from referrals.models import PatientFollowUp
from referrals.tasks import follow_ups_send_task
from tests.conftest import postgres_only
from tests.referrals.follow_up_helpers import completed_referral

pytestmark = [postgres_only, pytest.mark.django_db(transaction=True)]
WAIT = 20


def _due_follow_up(spa, owner, **fields):
    """A completed referral with a signed authorization, its follow-up due a minute ago."""
    referral = completed_referral(spa, owner, **fields)
    with scope(spa=spa):
        authorization, _token = consent.authorization_create(
            referral=referral, signature_method="typed", signer_name="Ada Lovelace"
        )
        PatientFollowUp.objects.filter(referral=referral).update(due_at=timezone.now() - datetime.timedelta(minutes=1))
    return referral, authorization


def _thank_yous():
    with scopes_disabled():
        return list(OutgoingEmail.objects.filter(template="patient-follow-up").values_list("to", flat=True))


def _in_thread(target):
    errors, results = [], []

    def run():
        try:
            results.append(target())
        except Exception as error:  # noqa: BLE001 - reported by the test
            errors.append(repr(error))
        finally:
            connection.close()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread, errors, results


def test_a_revocation_committed_while_the_sender_holds_the_claim_stops_the_message(spa, owner, monkeypatch):
    referral, authorization = _due_follow_up(spa, owner)
    claimed, revoked = threading.Event(), threading.Event()
    real_claim = follow_up_services._claim

    def claim_then_pause(*args):
        follow_up = real_claim(*args)
        claimed.set()
        revoked.wait(timeout=WAIT)  # the patient revokes now, while this transaction holds the row
        return follow_up

    monkeypatch.setattr(follow_up_services, "_claim", claim_then_pause)

    def sender():
        with scope(spa=spa):
            return follow_up_services.follow_ups_send_due(spa=spa)

    thread, errors, results = _in_thread(sender)
    assert claimed.wait(timeout=WAIT)
    started = time.monotonic()
    with scope(spa=spa):
        consent.authorization_revoke(authorization=authorization, channel="patient_link")
    took = time.monotonic() - started
    revoked.set()
    thread.join(timeout=WAIT * 2)
    assert not thread.is_alive() and errors == []
    assert took < WAIT / 2, "revoking waited for the sender's lock"
    assert results == [0]
    assert _thank_yous() == []
    with scopes_disabled():
        follow_up = PatientFollowUp.objects.get(referral=referral)
    assert (follow_up.state, follow_up.reason) == ("stopped", "no_consent")


def test_without_a_revocation_the_paused_sender_does_send(spa, owner, monkeypatch):
    """The control: the same pause with nobody revoking sends the message (so the test above can fail)."""
    _due_follow_up(spa, owner)
    real_claim = follow_up_services._claim
    monkeypatch.setattr(follow_up_services, "_claim", lambda *args: (time.sleep(0.2), real_claim(*args))[1])
    with scope(spa=spa):
        assert follow_up_services.follow_ups_send_due(spa=spa) == 1
    assert _thank_yous() == ["ada@patient.example"]


def test_two_beats_sending_at_once_send_each_thank_you_once(spa, owner):
    _due_follow_up(spa, owner)
    _due_follow_up(spa, owner, patient_email="bo@patient.example")
    barrier = threading.Barrier(2)

    def beat():
        barrier.wait(timeout=WAIT)
        return follow_ups_send_task()

    runs = [_in_thread(beat) for _ in range(2)]
    for thread, _errors, _results in runs:
        thread.join(timeout=WAIT * 3)
    assert all(errors == [] for _thread, errors, _results in runs)
    assert sum(results[0] for _thread, _errors, results in runs) == 2
    assert sorted(_thank_yous()) == ["ada@patient.example", "bo@patient.example"]
    assert follow_ups_send_task() == 0
