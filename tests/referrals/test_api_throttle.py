"""Per-API-key rate limits: over the key's rate the API answers 429 with Retry-After and creates nothing; other
keys are unaffected; the schema documents the 429; the limit fails open when the cache is down."""

import pytest
from django.core.cache import cache
from django_scopes import scopes_disabled

from referrals.models import Referral

from .api_helpers import REFERRALS_URL, SERVICES_URL, api_setup, post_json, referral_body


@pytest.fixture(autouse=True)
def _three_a_minute(settings):
    settings.API_KEY_THROTTLE_RATE = "3/minute"


def _referral_count():
    with scopes_disabled():
        return Referral.objects.count()


def test_a_key_over_its_rate_gets_429_with_retry_after_and_creates_nothing(spa):
    setup = api_setup(spa)
    for _ in range(3):
        assert setup.client.get(SERVICES_URL).status_code == 200

    response = post_json(setup.client, REFERRALS_URL, referral_body())

    assert response.status_code == 429
    assert 0 < int(response["Retry-After"]) <= 60
    assert "detail" in response.json()
    assert _referral_count() == 0


def test_each_key_has_its_own_counter(spa, other_spa):
    busy = api_setup(spa, name="Busy EHR")
    quiet_same_spa = api_setup(spa, name="Quiet EHR")
    other = api_setup(other_spa)
    for _ in range(3):
        busy.client.get(SERVICES_URL)
    assert busy.client.get(SERVICES_URL).status_code == 429

    assert quiet_same_spa.client.get(SERVICES_URL).status_code == 200
    assert post_json(other.client, REFERRALS_URL, referral_body()).status_code == 201


def test_requests_without_a_valid_key_are_refused_by_authentication_not_counted(spa):
    setup = api_setup(spa)
    from django.test import Client

    stranger = Client(headers={"Authorization": "Bearer sk_not_a_key"})
    for _ in range(5):
        assert stranger.get(SERVICES_URL).status_code == 401
    assert setup.client.get(SERVICES_URL).status_code == 200


def test_an_empty_rate_turns_the_limit_off(spa, settings):
    settings.API_KEY_THROTTLE_RATE = ""
    setup = api_setup(spa)
    assert all(setup.client.get(SERVICES_URL).status_code == 200 for _ in range(6))


def test_the_limit_fails_open_when_the_cache_is_down(spa, monkeypatch):
    setup = api_setup(spa)

    def cache_down(*args, **kwargs):
        raise ConnectionError("Redis is down")

    monkeypatch.setattr(cache, "get", cache_down)
    monkeypatch.setattr(cache, "set", cache_down)

    assert all(setup.client.get(SERVICES_URL).status_code == 200 for _ in range(5))
    assert post_json(setup.client, REFERRALS_URL, referral_body()).status_code == 201


def test_the_schema_documents_the_429(client):
    schema = client.get("/api/schema/", headers={"Accept": "application/json"})
    text = schema.content.decode()
    assert "'429'" in text or '"429"' in text
    assert "Retry-After" in text


def test_the_clock_is_read_at_each_request_not_kept_from_import(spa, monkeypatch):
    """DRF keeps time.time as a class attribute; a module imported under a frozen test clock kept freezegun's
    function there, which then broke every throttle check. The key's throttle reads the clock itself."""
    from rest_framework.throttling import SimpleRateThrottle

    def fake_time():  # what freezegun leaves behind: a plain function, wrong as a method
        return 0.0

    monkeypatch.setattr(SimpleRateThrottle, "timer", fake_time)
    setup = api_setup(spa)
    for _ in range(3):
        assert setup.client.get(SERVICES_URL).status_code == 200
    assert setup.client.get(SERVICES_URL).status_code == 429
