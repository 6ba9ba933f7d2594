"""API keys: shown once, stored hashed, last use recorded, revocation; the owner's pages."""

import hashlib
import uuid
from datetime import timedelta

import pytest
from django.conf import settings
from django.utils import timezone
from django_scopes import scope, scopes_disabled

from infra.models import AuditEvent
from referrals.api.services import api_key_for_raw, api_key_revoke
from referrals.models import ApiKey
from tests.factories import PracticeFactory

from .api_helpers import SERVICES_URL, api_setup, bearer_client


def _key_list_url(spa):
    return f"/s/{spa.slug}/api-keys/"


def _key_create_url(spa):
    return f"/s/{spa.slug}/api-keys/new/"


def _key_revoke_url(spa, api_key):
    return f"/s/{spa.slug}/api-keys/{api_key.public_id}/revoke/"


def _stored_key(api_key):
    with scopes_disabled():
        return ApiKey.objects.get(pk=api_key.pk)


# --- the key itself ----------------------------------------------------------------------------


def test_a_new_key_is_random_and_only_its_hash_and_prefix_are_stored(spa):
    first = api_setup(spa)
    second = api_setup(spa, practice=first.practice, name="Second system")

    assert first.raw_key.startswith("sk_")
    assert len(first.raw_key) >= 40
    assert first.raw_key != second.raw_key
    stored = _stored_key(first.api_key)
    assert stored.key_hash == hashlib.sha256(first.raw_key.encode()).hexdigest()
    assert first.raw_key.startswith(stored.prefix)
    assert len(stored.prefix) < 12
    with scopes_disabled():
        stored_values = [str(value) for value in ApiKey.objects.filter(pk=stored.pk).values().get().values()]
        audit_details = [str(event.detail) for event in AuditEvent.objects.filter(spa=spa)]
    assert not any(first.raw_key in value for value in stored_values)
    assert not any(first.raw_key in detail for detail in audit_details)


def test_creating_a_key_writes_one_audit_event(spa):
    setup = api_setup(spa)

    with scopes_disabled():
        events = list(AuditEvent.objects.filter(spa=spa, action="api_key.created"))
    assert [event.object_id for event in events] == [str(setup.api_key.public_id)]


def test_the_key_authenticates_and_its_last_use_is_recorded(spa):
    setup = api_setup(spa)
    assert _stored_key(setup.api_key).last_used_at is None

    response = setup.client.get(SERVICES_URL)

    assert response.status_code == 200
    last_used = _stored_key(setup.api_key).last_used_at
    assert last_used is not None
    assert timezone.now() - last_used < timedelta(seconds=10)


def test_last_use_is_written_at_most_once_a_minute(spa):
    setup = api_setup(spa)
    recent = timezone.now() - timedelta(seconds=30)
    with scopes_disabled():
        ApiKey.objects.filter(pk=setup.api_key.pk).update(last_used_at=recent)

    assert api_key_for_raw(setup.raw_key) is not None
    assert _stored_key(setup.api_key).last_used_at == recent

    stale = timezone.now() - timedelta(minutes=5)
    with scopes_disabled():
        ApiKey.objects.filter(pk=setup.api_key.pk).update(last_used_at=stale)
    api_key_for_raw(setup.raw_key)
    assert _stored_key(setup.api_key).last_used_at > stale


def test_a_revoked_key_gets_401(spa):
    setup = api_setup(spa)
    assert setup.client.get(SERVICES_URL).status_code == 200
    with scope(spa=spa):
        api_key_revoke(api_key=setup.api_key, actor=None)

    response = setup.client.get(SERVICES_URL)

    assert response.status_code == 401
    assert response["Content-Type"] == "application/json"
    assert response.json() == {"detail": "Invalid or revoked API key."}
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_revoking_twice_writes_one_audit_event(spa):
    setup = api_setup(spa)
    with scope(spa=spa):
        api_key_revoke(api_key=setup.api_key, actor=None)
        first_revoked_at = _stored_key(setup.api_key).revoked_at
        api_key_revoke(api_key=setup.api_key, actor=None)

    assert _stored_key(setup.api_key).revoked_at == first_revoked_at
    with scopes_disabled():
        assert AuditEvent.objects.filter(spa=spa, action="api_key.revoked").count() == 1


@pytest.mark.parametrize(
    "authorization",
    [
        None,
        "",
        "Bearer",
        "Bearer ",
        "Bearer not-a-key",
        "Bearer sk_thisIsNotAKeyAnybodyWasGiven0000000000000",
        "Bearer sk_a sk_b",
        "Basic dXNlcjpwYXNz",
        "Token sk_whatever",
        "Bearer sk_" + "x" * 5000,
    ],
)
def test_a_missing_or_garbage_authorization_header_gets_401_json(spa, client, authorization):
    api_setup(spa)  # a real key exists; none of these headers is it
    headers = {} if authorization is None else {"Authorization": authorization}

    response = client.get(SERVICES_URL, headers=headers)

    assert response.status_code == 401
    assert response["Content-Type"] == "application/json"
    assert set(response.json()) == {"detail"}


def test_a_key_with_non_ascii_bytes_gets_401(spa, client):
    response = client.get(SERVICES_URL, HTTP_AUTHORIZATION="Bearer sk_caf\xe9")

    assert response.status_code == 401
    assert set(response.json()) == {"detail"}


def test_a_signed_in_browser_session_is_not_an_api_credential(spa, owner_client):
    response = owner_client.get(SERVICES_URL)

    assert response.status_code == 401


# --- the owner's pages ---------------------------------------------------------------------------


def test_the_owner_creates_a_key_and_sees_it_exactly_once(spa, owner, owner_client):
    with scope(spa=spa):
        practice = PracticeFactory(spa=spa, name="Brookline Dermatology")

    response = owner_client.post(_key_create_url(spa), {"practice": str(practice.public_id), "name": "Front desk EHR"})

    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    with scopes_disabled():
        api_key = ApiKey.objects.get(spa=spa)
    assert api_key.name == "Front desk EHR"
    assert api_key.practice == practice
    assert api_key.created_by == owner
    page = response.content.decode()
    raw_key = page.split('id="raw-api-key" type="text" value="')[1].split('"')[0]
    assert hashlib.sha256(raw_key.encode()).hexdigest() == api_key.key_hash
    assert "It will not be shown again" in page
    # The list shows the key's prefix and nothing more.
    listing = owner_client.get(_key_list_url(spa)).content.decode()
    assert "Front desk EHR" in listing
    assert api_key.prefix in listing
    assert raw_key not in listing
    # And the key works, for the REST API and for FHIR, whose address the page gives.
    assert bearer_client(raw_key).get(SERVICES_URL).status_code == 200
    assert f"<code>{settings.SITE_URL}/fhir/r4</code>" in page
    assert bearer_client(raw_key).get(f"/fhir/r4/ServiceRequest/{uuid.uuid4()}").status_code == 404  # (not 401)


def test_the_create_form_shows_errors_beside_the_fields(spa, owner_client):
    with scope(spa=spa):
        PracticeFactory(spa=spa)

    response = owner_client.post(_key_create_url(spa), {"practice": "", "name": ""})

    assert response.status_code == 400
    assert response.content.decode().count("is-invalid") == 2
    with scopes_disabled():
        assert not ApiKey.objects.filter(spa=spa).exists()


def test_a_key_cannot_be_made_for_another_spas_practice(spa, other_spa, owner_client):
    with scope(spa=spa):
        PracticeFactory(spa=spa)
    with scope(spa=other_spa):
        foreign = PracticeFactory(spa=other_spa)

    response = owner_client.post(_key_create_url(spa), {"practice": str(foreign.public_id), "name": "Sneaky"})

    assert response.status_code == 400
    with scopes_disabled():
        assert not ApiKey.objects.exists()


def test_the_create_page_asks_for_a_practice_first_when_there_is_none(spa, owner_client):
    response = owner_client.get(_key_create_url(spa))

    assert response.status_code == 200
    assert "Add the practice first" in response.content.decode()


def test_the_owner_revokes_a_key(spa, owner, owner_client):
    setup = api_setup(spa)

    response = owner_client.post(_key_revoke_url(spa, setup.api_key))

    assert response.status_code == 302
    assert response["Location"] == _key_list_url(spa)
    assert _stored_key(setup.api_key).revoked_at is not None
    assert setup.client.get(SERVICES_URL).status_code == 401
    with scopes_disabled():
        event = AuditEvent.objects.get(spa=spa, action="api_key.revoked")
    assert event.actor == owner
    revoked_list = owner_client.get(_key_list_url(spa) + "?show=revoked").content.decode()
    assert "EHR integration" in revoked_list


def test_revoking_is_a_post_only_action(spa, owner_client):
    setup = api_setup(spa)

    response = owner_client.get(_key_revoke_url(spa, setup.api_key))

    assert response.status_code == 405
    assert _stored_key(setup.api_key).revoked_at is None


def test_the_list_shows_last_use_and_hides_revoked_keys_by_default(spa, owner_client):
    used = api_setup(spa, name="Used key")
    used.client.get(SERVICES_URL)
    revoked = api_setup(spa, practice=used.practice, name="Old key")
    with scope(spa=spa):
        api_key_revoke(api_key=revoked.api_key, actor=None)

    page = owner_client.get(_key_list_url(spa)).content.decode()

    assert "Used key" in page
    assert "Old key" not in page
    assert "Never" not in page  # the one active key has been used
    assert "Old key" in owner_client.get(_key_list_url(spa) + "?show=all").content.decode()


def test_the_list_has_an_empty_state(spa, owner_client):
    response = owner_client.get(_key_list_url(spa))

    assert response.status_code == 200
    assert "No active API keys" in response.content.decode()


def test_the_list_page_runs_a_constant_number_of_queries(spa, owner_client, django_assert_max_num_queries):
    setup = api_setup(spa)
    owner_client.get(_key_list_url(spa))
    with django_assert_max_num_queries(12):
        owner_client.get(_key_list_url(spa))
    for index in range(15):
        api_setup(spa, practice=PracticeFactory(spa=spa) if index % 2 else setup.practice, name=f"Key {index}")

    with django_assert_max_num_queries(12):
        response = owner_client.get(_key_list_url(spa))
    assert response.content.decode().count("data-key=") == 16


@pytest.mark.parametrize("role_fixture", ["staff_user", "manager_user"])
@pytest.mark.parametrize("page", ["list", "create", "revoke"])
def test_staff_and_managers_cannot_manage_keys(request, spa, client_for, role_fixture, page):
    setup = api_setup(spa)
    client = client_for(request.getfixturevalue(role_fixture))
    urls = {"list": _key_list_url(spa), "create": _key_create_url(spa), "revoke": _key_revoke_url(spa, setup.api_key)}

    response = client.post(urls[page]) if page == "revoke" else client.get(urls[page])

    assert response.status_code == 403
    assert _stored_key(setup.api_key).revoked_at is None


def test_another_spas_key_is_404_for_an_owner(spa, other_spa, owner_client):
    foreign = api_setup(other_spa)

    response = owner_client.post(_key_revoke_url(spa, foreign.api_key))

    assert response.status_code == 404
    assert _stored_key(foreign.api_key).revoked_at is None
    assert foreign.api_key.name not in owner_client.get(_key_list_url(spa) + "?show=all").content.decode()


def test_outsiders_get_404_and_anonymous_visitors_the_login_page(spa, outsider_client, client):
    setup = api_setup(spa)

    assert outsider_client.get(_key_list_url(spa)).status_code == 404
    assert outsider_client.post(_key_revoke_url(spa, setup.api_key)).status_code == 404
    response = client.get(_key_list_url(spa))
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")
