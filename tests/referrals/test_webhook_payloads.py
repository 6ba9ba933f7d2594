"""What a webhook may say: ids and status to everyone; the patient's name and date of birth only to the referring
practice's own endpoint, and only while the patient's authorization covers that practice (checked when the post
is made, so a revocation in between stops it). outcome.sent follows a delivered outcome report; a test event
says nothing about a referral. Secrets: rotation signs with both for a day; a changed SECRET_KEY with the old one
as a fallback still signs."""

import datetime
from datetime import timedelta

import pytest
from django.utils import timezone
from django_scopes import scope, scopes_disabled

from infra.models import AuditEvent
from referrals.consent import services as consent
from referrals.models import Authorization, Referral, WebhookDelivery, WebhookEndpoint
from referrals.outcomes.delivery import outcome_report_deliver
from referrals.outcomes.services import outcome_report_save, outcome_report_share
from referrals.webhooks.services import webhook_endpoint_rotate_secret, webhook_endpoint_send_test
from referrals.webhooks.tasks import webhook_sweep_task
from tests.factories import ServiceFactory

from .portal_helpers import make_referral
from .webhook_helpers import Receiver, Reply, attempts, deliveries, make_endpoint, verified


@pytest.fixture(autouse=True)
def _local_receivers_allowed(settings):
    settings.WEBHOOKS_ALLOW_PRIVATE_ADDRESSES = True


@pytest.fixture
def receiver():
    with Receiver() as running:
        yield running


def authorize(referral, **extra):
    with scope(spa=referral.spa):
        authorization, _token = consent.authorization_create(
            referral=referral, signature_method=Authorization.SignatureMethod.TYPED, signer_name="Ada Lovelace", **extra
        )
    return authorization


def disclosures(referral):
    with scopes_disabled():
        return AuditEvent.objects.filter(action="referral.webhook_disclosed", object_id=str(referral.public_id)).count()


def sent_data(receiver):
    [request] = receiver.received
    return request.json["data"]


def test_the_referring_practices_endpoint_gets_the_patient_while_the_authorization_covers_it(
    spa, practice_a, owner, receiver
):
    make_endpoint(spa, receiver.url, practice=practice_a, actor=owner)
    referral = make_referral(practice_a, first="Ada", last="Lovelace", details={"reason_text": "Rosacea flare"})
    with scope(spa=spa):
        Referral.objects.filter(pk=referral.pk).update(patient_date_of_birth=datetime.date(1985, 12, 10))
    authorize(referral)

    webhook_sweep_task()

    data = sent_data(receiver)
    assert data["patient"] == {"first_name": "Ada", "last_name": "Lovelace", "date_of_birth": "1985-12-10"}
    assert "Rosacea" not in receiver.received[0].body.decode()  # health details never travel
    assert disclosures(referral) == 1
    [delivery] = deliveries()
    assert "patient" not in delivery.payload["data"]  # never stored with the outbox row


def test_an_answer_to_a_post_with_patient_details_is_not_kept_in_the_log(spa, practice_a, owner, receiver):
    """A receiver that echoes what it got would otherwise leave the patient's name in the delivery log."""
    make_endpoint(spa, receiver.url, practice=practice_a, actor=owner)
    referral = make_referral(practice_a, first="Ada", last="Lovelace")
    authorize(referral)
    receiver.replies = [Reply(200, b"got Ada Lovelace")]

    webhook_sweep_task()

    [attempt] = attempts()
    assert (attempt.response_code, attempt.response_snippet) == (200, "")


def test_without_an_authorization_the_referring_practice_gets_ids_and_status_only(spa, practice_a, owner, receiver):
    make_endpoint(spa, receiver.url, practice=practice_a, actor=owner)
    referral = make_referral(practice_a, first="Ada", last="Lovelace")

    webhook_sweep_task()

    assert "patient" not in sent_data(receiver)
    assert "Lovelace" not in receiver.received[0].body.decode()
    assert disclosures(referral) == 0


def test_an_authorization_that_does_not_allow_sharing_outcomes_is_not_enough(spa, practice_a, owner, receiver):
    make_endpoint(spa, receiver.url, practice=practice_a, actor=owner)
    referral = make_referral(practice_a, first="Ada", last="Lovelace")
    authorize(referral, allows_outcome_sharing=False)

    webhook_sweep_task()

    assert "patient" not in sent_data(receiver)


def test_the_spas_own_endpoint_never_gets_the_patient_even_with_an_authorization(spa, practice_a, owner, receiver):
    make_endpoint(spa, receiver.url, actor=owner)
    referral = make_referral(practice_a, first="Ada", last="Lovelace")
    authorize(referral)

    webhook_sweep_task()

    assert "patient" not in sent_data(receiver)
    assert disclosures(referral) == 0


def test_a_revocation_between_the_event_and_the_post_stops_the_details(spa, practice_a, owner, receiver):
    make_endpoint(spa, receiver.url, practice=practice_a, actor=owner)
    referral = make_referral(practice_a, first="Ada", last="Lovelace")
    authorization = authorize(referral)
    with scope(spa=spa):
        consent.authorization_revoke(authorization=authorization, channel="staff", actor=owner)

    webhook_sweep_task()

    assert "patient" not in sent_data(receiver)


def test_an_expired_authorization_or_an_erased_patient_gives_no_details(spa, practice_a, owner, receiver):
    make_endpoint(spa, receiver.url, practice=practice_a, actor=owner)
    expired = make_referral(practice_a, first="Ada", last="Lovelace")
    erased = make_referral(practice_a, first="Grace", last="Hopper")
    authorize(expired)
    authorize(erased)
    with scopes_disabled():
        Authorization.objects.filter(referral=expired).update(expires_at=timezone.now() - timedelta(minutes=1))
        Referral.objects.filter(pk=erased.pk).update(health_fields_purged_at=timezone.now())

    webhook_sweep_task()

    assert len(receiver.received) == 2
    assert all("patient" not in request.json["data"] for request in receiver.received)


def test_a_delivered_outcome_report_is_an_outcome_sent_event(spa, practice_a, owner, receiver):
    make_endpoint(spa, receiver.url, events=["outcome.sent"], practice=practice_a, actor=owner)
    referral = make_referral(practice_a, first="Ada", last="Lovelace")
    authorize(referral)
    with scope(spa=spa):
        service = ServiceFactory(spa=spa, name="Barrier repair facial")
        report = outcome_report_save(
            referral=referral,
            author=owner,
            services=[service.public_id],
            sessions=2,
            observations="Redness settled",
            recommendations="",
            measures={},
        )
        outcome_delivery = outcome_report_share(report=report, actor=owner)
        assert deliveries() == []  # shared is not sent: the delivery re-checks the authorization first
        outcome_report_deliver(outcome_delivery.pk)

    webhook_sweep_task()

    [request] = receiver.received
    assert request.json["type"] == "outcome.sent"
    data = request.json["data"]
    assert (data["outcome_report_id"], data["report_version"]) == (str(report.public_id), 1)
    assert data["patient"]["last_name"] == "Lovelace"
    assert "Redness" not in request.body.decode()  # the report's content stays in the portal


def test_a_test_event_goes_to_one_endpoint_and_names_no_referral(spa, practice_a, owner, receiver):
    endpoint, secret = make_endpoint(spa, receiver.url, events=["referral.completed"], actor=owner)
    make_endpoint(spa, receiver.url, actor=owner)  # another endpoint: not tested, not sent
    with scope(spa=spa):
        webhook_endpoint_send_test(endpoint=endpoint, actor=owner)

    webhook_sweep_task()

    [request] = receiver.received
    assert verified(request, secret)
    assert request.json["type"] == "webhook.test"
    assert request.json["data"] == {"spa": spa.slug, "endpoint_id": str(endpoint.public_id), "test": True}


def test_after_a_rotation_both_secrets_sign_for_a_day_then_only_the_new_one(spa, practice_a, owner, receiver):
    endpoint, old = make_endpoint(spa, receiver.url, actor=owner)
    with scope(spa=spa):
        endpoint, new = webhook_endpoint_rotate_secret(endpoint=endpoint, actor=owner)
    assert new != old and new.startswith("whsec_")
    make_referral(practice_a)
    webhook_sweep_task()
    [during] = receiver.received
    assert len(during.headers["webhook-signature"].split(" ")) == 2
    assert verified(during, new) and verified(during, old)

    with scopes_disabled():
        WebhookEndpoint.objects.filter(pk=endpoint.pk).update(previous_secret_expires_at=timezone.now())
    make_referral(practice_a)
    webhook_sweep_task()
    after = receiver.received[1]
    assert verified(after, new) and not verified(after, old)


def test_the_secret_is_stored_encrypted(spa, owner, receiver):
    endpoint, secret = make_endpoint(spa, receiver.url, actor=owner)
    with scopes_disabled():
        stored = WebhookEndpoint.objects.filter(pk=endpoint.pk).values_list("secret_encrypted", flat=True).get()
    assert secret not in stored and secret.removeprefix("whsec_") not in stored


def test_a_new_secret_key_with_the_old_one_as_fallback_still_signs(spa, practice_a, owner, receiver, settings):
    _endpoint, secret = make_endpoint(spa, receiver.url, actor=owner)
    settings.SECRET_KEY_FALLBACKS = [settings.SECRET_KEY]
    settings.SECRET_KEY = "a-new-test-secret-key"
    make_referral(practice_a)

    assert webhook_sweep_task() == 1
    assert verified(receiver.received[0], secret)


def test_a_secret_no_key_can_read_gives_up_with_a_reason_and_sends_nothing(spa, practice_a, owner, receiver, settings):
    make_endpoint(spa, receiver.url, actor=owner)
    settings.SECRET_KEY = "a-new-test-secret-key"  # the old one is not kept as a fallback
    make_referral(practice_a)

    webhook_sweep_task()

    [delivery] = deliveries()
    assert delivery.status == WebhookDelivery.Status.DEAD
    assert "rotate" in delivery.last_error
    assert receiver.received == []
