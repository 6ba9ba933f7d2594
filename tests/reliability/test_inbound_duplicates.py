"""Referrals by email and text arriving several times at the same moment: a replayed signed request, a provider's
retries of one message (each signed anew), a text's webhook delivered twice. One draft each time, one set of
attachment files on disk (none orphaned by the losers), and every poster a clear answer.

Needs PostgreSQL: the losers wait on a unique index until the winner commits.
"""

import threading
import time

import pytest
from django.db import connection
from django.test import Client

from referrals.models import InboundReferralDraft
from tests.conftest import postgres_only
from tests.referrals.inbound_helpers import (
    pdf_attachment,
    post_email,
    post_sms,
    referral_email,
    set_up_inbound,
    signed_headers,
    stored_inbound_files,
    twilio_params,
)
from tests.referrals.spa_helpers import count

POSTERS = 10


def _at_once(send, count_of_posters=POSTERS):
    """Run ``send(index)`` in as many threads (each its own database connection), all starting together."""
    barrier = threading.Barrier(count_of_posters)
    responses = [None] * count_of_posters
    errors = []

    def run(index):
        try:
            barrier.wait(timeout=30)
            responses[index] = send(index)
        except Exception as error:  # noqa: BLE001 - reported below with the poster's number
            errors.append((index, repr(error)))
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(index,), daemon=True) for index in range(count_of_posters)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(thread.is_alive() for thread in threads), "a post hung"
    assert errors == []
    return responses


@pytest.fixture
def inbound_server(settings):
    return set_up_inbound(settings)


@postgres_only
@pytest.mark.django_db(transaction=True)
def test_one_signed_request_replayed_at_once_makes_one_draft_and_the_rest_are_409(inbound_server, spa):
    body = bytes(referral_email(spa, attachments=[pdf_attachment()]))
    headers = signed_headers(body)

    responses = _at_once(lambda index: post_email(Client(), body, headers=headers))

    assert sorted(response.status_code for response in responses) == [201] + [409] * (POSTERS - 1)
    assert count(InboundReferralDraft, spa=spa) == 1
    assert len(stored_inbound_files()) == 1


@postgres_only
@pytest.mark.django_db(transaction=True)
def test_a_providers_retries_of_one_message_at_once_make_one_draft_and_one_file(inbound_server, spa):
    body = bytes(referral_email(spa, attachments=[pdf_attachment()]))
    now = int(time.time())

    responses = _at_once(lambda index: post_email(Client(), body, timestamp=now - index))

    assert sorted(response.status_code for response in responses) == [200] * (POSTERS - 1) + [201]
    drafts = {response.json()["drafts"][0]["draft"] for response in responses}
    assert len(drafts) == 1
    assert count(InboundReferralDraft, spa=spa) == 1
    assert len(stored_inbound_files()) == 1  # the losers wrote no file


@postgres_only
@pytest.mark.django_db(transaction=True)
def test_a_texts_webhook_delivered_at_once_makes_one_draft_and_thanks_every_time(inbound_server, spa):
    from django.core.management import call_command

    call_command("inbound_sms_number", spa.slug, "+16175550100")
    params = twilio_params("+16175550100")

    responses = _at_once(lambda index: post_sms(Client(), params))

    assert {response.status_code for response in responses} == {200}
    assert len({response.content for response in responses}) == 1
    assert count(InboundReferralDraft, spa=spa) == 1
