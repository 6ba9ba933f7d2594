"""Idempotency-Key on POST /api/v1/referrals/: retries replay the first response and create nothing."""

import json
import threading

import pytest
from django.db import connection
from django.test import Client
from django_scopes import scopes_disabled

from infra.models import AuditEvent, OutgoingEmail
from referrals.models import IdempotencyRecord, Referral
from tests.conftest import postgres_only

from .api_helpers import REFERRALS_URL, api_setup, bearer_client, post_json, referral_body


def _referral_count(spa):
    with scopes_disabled():
        return Referral.objects.filter(spa=spa).count()


def test_the_same_key_and_body_replays_the_first_response_and_creates_one_referral(spa):
    setup = api_setup(spa)

    first = post_json(setup.client, REFERRALS_URL, referral_body(), idempotency_key="order-1")
    again = post_json(setup.client, REFERRALS_URL, referral_body(), idempotency_key="order-1")

    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert again["Location"] == first["Location"]
    assert again["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first
    assert _referral_count(spa) == 1


def test_the_same_json_written_differently_counts_as_the_same_body(spa):
    setup = api_setup(spa)
    body = referral_body()
    reordered = json.dumps(dict(reversed(list(body.items()))), indent=4)

    first = post_json(setup.client, REFERRALS_URL, body, idempotency_key="order-2")
    again = post_json(setup.client, REFERRALS_URL, reordered, idempotency_key="order-2")

    assert again.status_code == 201
    assert again.json() == first.json()
    assert _referral_count(spa) == 1


def test_the_same_key_with_a_different_body_gets_422(spa):
    setup = api_setup(spa)
    post_json(setup.client, REFERRALS_URL, referral_body(), idempotency_key="order-3")

    response = post_json(
        setup.client, REFERRALS_URL, referral_body(patient_first_name="Someone Else"), idempotency_key="order-3"
    )

    assert response.status_code == 422
    assert response["Content-Type"] == "application/json"
    assert "Idempotency-Key" in response.json()["detail"]
    assert _referral_count(spa) == 1


def test_different_keys_create_two_referrals(spa):
    setup = api_setup(spa)

    first = post_json(setup.client, REFERRALS_URL, referral_body(), idempotency_key="order-4")
    second = post_json(setup.client, REFERRALS_URL, referral_body(), idempotency_key="order-5")

    assert first.status_code == second.status_code == 201
    assert first.json()["id"] != second.json()["id"]
    assert _referral_count(spa) == 2


def test_without_the_header_every_post_creates(spa):
    setup = api_setup(spa)

    post_json(setup.client, REFERRALS_URL, referral_body())
    post_json(setup.client, REFERRALS_URL, referral_body())

    assert _referral_count(spa) == 2
    with scopes_disabled():
        assert not IdempotencyRecord.objects.exists()


def test_keys_belong_to_one_api_key(spa):
    ours = api_setup(spa)
    theirs = api_setup(spa, name="Other practice's system")

    first = post_json(ours.client, REFERRALS_URL, referral_body(), idempotency_key="shared-key")
    other = post_json(theirs.client, REFERRALS_URL, referral_body(), idempotency_key="shared-key")
    different_body = post_json(
        theirs.client, REFERRALS_URL, referral_body(patient_last_name="Other"), idempotency_key="same-again"
    )

    assert first.status_code == other.status_code == different_body.status_code == 201
    assert first.json()["id"] != other.json()["id"]
    assert other.json()["practice"]["id"] == str(theirs.practice.public_id)
    assert _referral_count(spa) == 3


def test_a_refused_request_does_not_use_up_the_key(spa):
    setup = api_setup(spa)

    refused = post_json(
        setup.client, REFERRALS_URL, referral_body(patient_consented_to_contact=False), idempotency_key="order-6"
    )
    corrected = post_json(setup.client, REFERRALS_URL, referral_body(), idempotency_key="order-6")

    assert refused.status_code == 400
    assert corrected.status_code == 201
    assert _referral_count(spa) == 1


def test_the_stored_response_holds_no_patient_details(spa):
    setup = api_setup(spa)

    post_json(setup.client, REFERRALS_URL, referral_body(), idempotency_key="order-7")

    with scopes_disabled():
        record = IdempotencyRecord.objects.get(api_key=setup.api_key, key="order-7")
    assert record.response_status == 201
    assert "Dana" not in json.dumps(record.response_body)
    assert "Whitfield" not in json.dumps(record.response_body)


@pytest.mark.parametrize("key", ["", "k" * 256, "clé-accentuée", "tab\tinside"])
def test_a_malformed_idempotency_key_gets_400_naming_the_header(spa, key):
    setup = api_setup(spa)

    response = setup.client.post(
        REFERRALS_URL,
        json.dumps(referral_body()),
        content_type="application/json",
        HTTP_IDEMPOTENCY_KEY=key,
    )

    assert response.status_code == 400
    assert "Idempotency-Key" in response.json()["errors"]
    assert _referral_count(spa) == 0


@postgres_only
@pytest.mark.django_db(transaction=True)
def test_twenty_concurrent_identical_posts_create_exactly_one_referral(spa, owner):
    setup = api_setup(spa)
    thread_count = 20
    barrier = threading.Barrier(thread_count)
    payload = json.dumps(referral_body())
    responses = [None] * thread_count
    errors = []

    def post(index):
        try:
            client = bearer_client(setup.raw_key)
            barrier.wait(timeout=30)
            responses[index] = client.post(
                REFERRALS_URL, payload, content_type="application/json", headers={"Idempotency-Key": "burst-1"}
            )
        except Exception as error:  # noqa: BLE001 - reported below, with the thread's index
            errors.append((index, repr(error)))
        finally:
            connection.close()

    threads = [threading.Thread(target=post, args=(index,)) for index in range(thread_count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    assert errors == []
    assert [response.status_code for response in responses] == [201] * thread_count
    bodies = [response.json() for response in responses]
    assert all(body == bodies[0] for body in bodies)
    assert sum(response.has_header("Idempotent-Replayed") for response in responses) == thread_count - 1
    assert _referral_count(spa) == 1
    with scopes_disabled():
        assert IdempotencyRecord.objects.filter(api_key=setup.api_key).count() == 1
        # The losers of the race did the create too, and rolled all of it back: one of everything is left.
        assert AuditEvent.objects.filter(spa=spa, action="referral.created").count() == 1
        assert OutgoingEmail.objects.filter(spa=spa, template="referral-new").count() == 1  # one owner


def test_an_anonymous_client_cannot_replay_someone_elses_key(spa):
    setup = api_setup(spa)
    post_json(setup.client, REFERRALS_URL, referral_body(), idempotency_key="order-8")

    response = post_json(Client(), REFERRALS_URL, referral_body(), idempotency_key="order-8")

    assert response.status_code == 401
    assert "id" not in response.json()
