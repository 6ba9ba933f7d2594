"""Two people working one referral: both opened its page, the first saves, then the second saves from the
page they still have open. The second save is refused with a message — it never silently overwrites the
first (a lost update) — whether the form was posted plainly or through htmx, and even when both press Save
at the same instant. Each page carries the referral's ``version`` in its forms; the service re-reads the
referral under a row lock and refuses a version that is no longer current.
"""

import re
import threading

import pytest
from django.db import connection
from django.urls import reverse
from django_scopes import scopes_disabled

from referrals.models import Referral, ReferralEvent, Status
from referrals.services import referral_create
from tests.conftest import postgres_only

STALE = "Someone else changed this referral while you were looking at it. Reload to see the latest."
HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def referral(spa, practice, owner):
    from django_scopes import scope

    with scope(spa=spa):
        return referral_create(
            spa=spa,
            practice=practice,
            channel="phone",
            consent_method="verbal",
            consent_captured_by="Spa front desk",
            notify=False,
            patient={"patient_first_name": "Paula", "patient_last_name": "Patient", "patient_phone": "617-555-0199"},
            details={"reason_category": "post_procedure_skin_care"},
        )


@pytest.fixture
def two_people(owner_client, staff_client):
    return owner_client, staff_client


def _open(client, referral):
    """Open the referral's page as a person does; returns the version each of its forms will post."""
    response = client.get(reverse("referrals:detail", args=[referral.spa.slug, referral.public_id]))
    assert response.status_code == 200
    versions = set(re.findall(r'<input type="hidden" name="version" value="(\d+)"', response.content.decode()))
    assert len(versions) == 1, versions
    return int(versions.pop())


def _save(client, referral, action, version, data, *, htmx):
    url = reverse(f"referrals:action_{action}", args=[referral.spa.slug, referral.public_id])
    return client.post(url, {"version": version, **data}, **(HTMX if htmx else {}))


def _fresh(referral):
    with scopes_disabled():
        return Referral.objects.select_related("assignee").get(pk=referral.pk)


def _timeline(referral):
    with scopes_disabled():
        return list(
            ReferralEvent.objects.filter(referral=referral).order_by("created_at", "pk").values_list("kind", flat=True)
        )


def _refusal_shown(response):
    text = response.content.decode()
    return STALE in re.sub(r"\s+", " ", text.replace("&#x27;", "'").replace("&#39;", "'"))


@pytest.mark.parametrize("htmx", [False, True], ids=["plain-post", "htmx"])
def test_the_second_of_two_assignments_from_the_same_page_is_refused_not_lost(
    htmx, two_people, referral, staff_user, manager_user
):
    first, second = two_people
    first_version, second_version = _open(first, referral), _open(second, referral)
    assert first_version == second_version == referral.version

    saved = _save(first, referral, "assign", first_version, {"assignee": staff_user.pk}, htmx=htmx)
    assert saved.status_code == (200 if htmx else 302)
    refused = _save(second, referral, "assign", second_version, {"assignee": manager_user.pk}, htmx=htmx)

    assert refused.status_code == 400
    assert _refusal_shown(refused)
    after = _fresh(referral)
    assert after.assignee == staff_user  # the first person's change stands
    assert after.version == first_version + 1
    # The refusal shows the referral as it now is, so the second person sees what changed.
    assert staff_user.display_name in refused.content.decode()
    # Reloaded, the second person can make their change on top of the first.
    reloaded_version = _open(second, referral)
    assert reloaded_version == after.version
    again = _save(second, referral, "assign", reloaded_version, {"assignee": manager_user.pk}, htmx=htmx)
    assert again.status_code == (200 if htmx else 302)
    assert _fresh(referral).assignee == manager_user


@pytest.mark.parametrize("htmx", [False, True], ids=["plain-post", "htmx"])
def test_a_decline_from_a_page_older_than_the_acceptance_is_refused(htmx, two_people, referral):
    first, second = two_people
    first_version, second_version = _open(first, referral), _open(second, referral)

    assert _save(first, referral, "accept", first_version, {}, htmx=htmx).status_code == (200 if htmx else 302)
    refused = _save(second, referral, "decline", second_version, {"reason": "Outside our scope"}, htmx=htmx)

    assert refused.status_code == 400
    assert _refusal_shown(refused)
    assert _fresh(referral).status == Status.ACCEPTED
    assert _timeline(referral) == [ReferralEvent.Kind.RECEIVED, ReferralEvent.Kind.STATUS]


@postgres_only
@pytest.mark.django_db(transaction=True)
def test_two_saves_from_the_same_page_at_the_same_instant_one_wins_and_the_other_is_refused(
    spa, owner, staff_user, manager_user, client_for, referral
):
    clients = [client_for(owner), client_for(manager_user)]
    versions = [_open(client, referral) for client in clients]
    choices = [staff_user, manager_user]
    barrier = threading.Barrier(len(clients))
    responses = [None] * len(clients)
    errors = []

    def save(index):
        try:
            barrier.wait(timeout=30)
            responses[index] = _save(
                clients[index], referral, "assign", versions[index], {"assignee": choices[index].pk}, htmx=True
            )
        except Exception as error:  # noqa: BLE001 - reported below with the saver's number
            errors.append((index, repr(error)))
        finally:
            connection.close()

    threads = [threading.Thread(target=save, args=(index,), daemon=True) for index in range(len(clients))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads), "a save hung"

    assert errors == []
    statuses = sorted(response.status_code for response in responses)
    assert statuses == [200, 400]
    [winner] = [index for index, response in enumerate(responses) if response.status_code == 200]
    [loser] = [response for response in responses if response.status_code == 400]
    assert _refusal_shown(loser)
    after = _fresh(referral)
    assert after.assignee == choices[winner]
    assert after.version == versions[winner] + 1
    assert _timeline(referral).count(ReferralEvent.Kind.ASSIGNED) == 1
