"""The probe's findings on the public landing page /r/<code>: code lookups were not rate-limited (150 random
codes in 7.4 s), and the form took a submission without its submission token."""

import pytest
from django.test import Client, override_settings
from django.urls import reverse
from django_scopes import scope, scopes_disabled

from infra.models import OutgoingEmail
from referrals.intake.submissions import submission_token_new, submission_token_valid
from referrals.models import Referral

from ..factories import PracticeFactory, ReferralCodeFactory

PATIENT_IP = "203.0.113.7"
OTHER_IP = "198.51.100.20"
LIMITED = "Please wait a minute, then try again"


@pytest.fixture
def code(spa):
    practice = PracticeFactory(spa=spa, name="Brookline Dermatology", specialty="dermatology")
    with scope(spa=spa):
        return ReferralCodeFactory(spa=spa, practice=practice, code="KM7QXZ").code


def _visit(code, ip=PATIENT_IP, suffix=""):
    return Client().get(f"/r/{code}{suffix}", REMOTE_ADDR=ip)


def _referrals(spa):
    with scope(spa=spa):
        return list(Referral.objects.all())


def _form(**overrides):
    data = {
        "patient_first_name": "Maya",
        "patient_last_name": "Lopez",
        "patient_phone": "(617) 555-0123",
        "patient_email": "maya@example.com",
        "preferred_contact_method": "phone",
        "reason_category": "sensitive_skin",
        "consent_to_contact": "on",
        "homepage": "",
    }
    data.update(overrides)
    return {name: value for name, value in data.items() if value is not None}


# --- lookups ------------------------------------------------------------------------------------------------


def test_thirty_lookups_a_minute_are_fine_and_the_next_gets_a_friendly_429(code):
    for _ in range(30):
        assert _visit(code).status_code == 200

    response = _visit(code)

    assert response.status_code == 429
    assert response["Retry-After"] == "60"
    assert LIMITED in response.content.decode()
    assert "Brookline" not in response.content.decode()  # not even whether the code exists


def test_unknown_codes_weigh_more_so_guessing_is_stopped_after_a_few_tries(code):
    for number in range(6):  # 6 × 5 = the minute's 30
        assert _visit(f"ZZ{number:04d}").status_code == 404

    assert _visit(code).status_code == 429  # a real code is refused too: nothing to learn by mixing them
    assert _visit("ZZ9999").status_code == 429


def test_the_thanks_page_counts_as_a_lookup(code):
    for _ in range(30):
        _visit(code, suffix="/thanks")

    assert _visit(code, suffix="/thanks").status_code == 429


def test_the_limit_is_per_client_address(code):
    for number in range(6):
        _visit(f"ZZ{number:04d}")

    assert _visit(code, ip=PATIENT_IP).status_code == 429
    assert _visit(code, ip=OTHER_IP).status_code == 200


def test_the_allowance_comes_back_after_the_window(code, settings):
    from django.core.cache import cache

    for number in range(6):
        _visit(f"ZZ{number:04d}")
    assert _visit(code).status_code == 429

    cache.delete(f"landing-lookups:{PATIENT_IP}")  # what the minute's expiry does

    assert _visit(code).status_code == 200


def test_the_limit_is_configurable(code, settings):
    settings.LANDING_LOOKUPS_PER_MINUTE = 3
    settings.LANDING_UNKNOWN_CODE_WEIGHT = 2

    assert [_visit(code).status_code for _ in range(4)] == [200, 200, 200, 429]


def test_with_the_cache_down_lookups_fail_open(code):
    unreachable = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": "redis://127.0.0.1:1/0"}
    }
    with override_settings(CACHES=unreachable):
        assert {_visit(code).status_code for _ in range(31)} == {200}
        assert {_visit("ZZ0001").status_code for _ in range(7)} == {404}


def _with_last_character_changed(token):
    return token[:-1] + ("A" if token[-1] != "A" else "B")


# --- the submission token -----------------------------------------------------------------------------------


def test_a_post_without_the_token_gets_the_form_back_and_creates_nothing(code, spa):
    response = Client().post(reverse("public:landing", args=[code]), _form(), REMOTE_ADDR=PATIENT_IP)

    page = response.content.decode()
    assert response.status_code == 400
    assert "We could not accept the form as it was sent" in page
    assert 'value="Maya"' in page  # what the patient typed is still there
    assert 'name="submission_token" value="' in page  # with a fresh token to send it again
    assert _referrals(spa) == []
    with scopes_disabled():
        assert not OutgoingEmail.objects.exists()


@pytest.mark.parametrize(
    "make_token",
    [
        lambda: "A" * 40,
        lambda: "made-up-token-of-forty-characters-xxxxxx",
        lambda: _with_last_character_changed(submission_token_new()),
        lambda: submission_token_new()[:30],
        lambda: "short",
        lambda: "x" * 200,
    ],
    ids=["letters", "made-up", "signature-changed", "cut-short", "short", "long"],
)
def test_a_made_up_or_damaged_token_is_refused_like_a_missing_one(code, spa, make_token):
    token = make_token()
    assert not submission_token_valid(token)
    response = Client().post(
        reverse("public:landing", args=[code]), _form(submission_token=token), REMOTE_ADDR=PATIENT_IP
    )

    assert response.status_code == 400
    assert "We could not accept the form as it was sent" in response.content.decode()
    assert _referrals(spa) == []


def test_the_fresh_token_from_the_refused_page_goes_through(code, spa):
    client = Client()
    refused = client.post(reverse("public:landing", args=[code]), _form(), REMOTE_ADDR=PATIENT_IP)
    token = refused.content.decode().split('name="submission_token" value="', 1)[1].split('"', 1)[0]

    response = client.post(
        reverse("public:landing", args=[code]), _form(submission_token=token), REMOTE_ADDR=PATIENT_IP
    )

    assert response.status_code == 302
    assert len(_referrals(spa)) == 1


def test_a_reused_token_with_other_details_gets_the_form_back(code, spa):
    token = submission_token_new()
    client = Client()
    assert (
        client.post(
            reverse("public:landing", args=[code]), _form(submission_token=token), REMOTE_ADDR=PATIENT_IP
        ).status_code
        == 302
    )

    response = client.post(
        reverse("public:landing", args=[code]),
        _form(submission_token=token, patient_first_name="Someone", patient_last_name="Else"),
        REMOTE_ADDR=PATIENT_IP,
    )

    assert response.status_code == 400
    assert "already sent with other details" in response.content.decode()
    assert [referral.patient_first_name for referral in _referrals(spa)] == ["Maya"]


def test_tokens_drawn_by_the_page_are_valid_and_distinct():
    tokens = {submission_token_new() for _ in range(50)}

    assert len(tokens) == 50
    assert all(submission_token_valid(token) for token in tokens)
