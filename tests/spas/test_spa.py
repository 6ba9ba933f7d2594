"""Creating a spa, its settings page, and where the home page sends people."""

import html
import io
import os
import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django_scopes import scopes_disabled
from PIL import Image

from infra.models import AuditEvent
from spas.models import Membership, Role, Spa

from ..factories import MembershipFactory, SpaFactory, UserFactory

VALID_SPA = {
    "name": "Glow Day Spa",
    "slug": "glow-day-spa",
    "timezone": "America/Chicago",
    "brand_colour": "#123456",
    "referral_email": "intake@glow.example",
}


def _png(size=(8, 8), noise=False):
    """PNG bytes; random noise barely compresses, so a large noisy image makes a large file."""
    image = Image.frombytes("RGB", size, os.urandom(size[0] * size[1] * 3)) if noise else Image.new("RGB", size, "teal")
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


def field_error(response, field):
    """The text of the error div rendered beside ``field``, or None."""
    match = re.search(
        rf'<div class="invalid-feedback[^"]*" id="id_{field}_error"[^>]*>(.*?)</div>', response.content.decode(), re.S
    )
    return html.unescape(match.group(1)) if match else None


@pytest.fixture
def newcomer_client(client_for, db):
    return client_for(UserFactory(email="newcomer@example.com"))


def _spa_count():
    return Spa.objects.count()


# --- creating a spa ---------------------------------------------------------------------------


def test_creating_a_spa_makes_the_user_its_owner(newcomer_client):
    response = newcomer_client.post(reverse("spa_create"), VALID_SPA)

    spa = Spa.objects.get(slug="glow-day-spa")
    assert response.status_code == 302
    assert response["Location"] == reverse("insights:dashboard", args=["glow-day-spa"])
    assert spa.name == "Glow Day Spa"
    assert spa.timezone == "America/Chicago"
    assert spa.brand_colour == "#123456"
    assert spa.referral_email == "intake@glow.example"
    with scopes_disabled():
        membership = Membership.objects.get(spa=spa)
        event = AuditEvent.objects.get(spa=spa)
    assert membership.user.email == "newcomer@example.com"
    assert membership.role == Role.OWNER
    assert event.action == "spa.created"
    assert event.actor == membership.user
    assert event.object_id == str(spa.public_id)


def test_the_new_owner_can_open_the_new_spa(newcomer_client):
    newcomer_client.post(reverse("spa_create"), VALID_SPA)

    response = newcomer_client.get(reverse("insights:dashboard", args=["glow-day-spa"]))

    assert response.status_code == 200
    assert "Glow Day Spa" in response.content.decode()


def test_creating_a_spa_with_a_logo_stores_and_serves_it(newcomer_client):
    logo = _png()

    newcomer_client.post(
        reverse("spa_create"), {**VALID_SPA, "logo": SimpleUploadedFile("logo.png", logo, "image/png")}
    )

    spa = Spa.objects.get(slug="glow-day-spa")
    assert spa.logo.name.endswith(".png")
    served = newcomer_client.get(reverse("spa_logo", args=[spa.public_id]))
    assert served.status_code == 200
    assert b"".join(served.streaming_content) == logo


def test_creating_a_spa_needs_a_sign_in(client, db):
    response = client.post(reverse("spa_create"), VALID_SPA)

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_login"))
    assert _spa_count() == 0


def test_the_create_form_renders(newcomer_client):
    response = newcomer_client.get(reverse("spa_create"))

    assert response.status_code == 200
    assert 'name="slug"' in response.content.decode()


@pytest.mark.parametrize(
    ("field", "bad_input", "message"),
    [
        ("name", {"name": ""}, "This field is required."),
        ("name", {"name": "x" * 121}, "Ensure this value has at most 120 characters (it has 121)."),
        ("slug", {"slug": "Bad Slug!"}, "Enter a valid “slug”"),
        ("slug", {"slug": "bad_slug"}, "Use lowercase letters, digits and single hyphens"),
        ("slug", {"slug": "new"}, "This web address is reserved."),
        ("timezone", {"timezone": "Mars/Olympus_Mons"}, "Select a valid choice."),
        ("brand_colour", {"brand_colour": "red"}, "Enter a colour like #2a7a78."),
    ],
    ids=["missing-name", "long-name", "bad-slug", "underscore-slug", "reserved-slug", "unknown-timezone", "colour"],
)
def test_invalid_spa_input_shows_the_error_beside_the_field_and_creates_nothing(
    newcomer_client, field, bad_input, message
):
    response = newcomer_client.post(reverse("spa_create"), {**VALID_SPA, **bad_input})

    assert response.status_code == 400
    assert message in field_error(response, field)
    assert _spa_count() == 0
    with scopes_disabled():
        assert not Membership.objects.exists()
        assert not AuditEvent.objects.exists()


def test_a_taken_web_address_is_refused(newcomer_client):
    SpaFactory(slug="glow-day-spa", name="The Original Glow")

    response = newcomer_client.post(reverse("spa_create"), VALID_SPA)

    assert response.status_code == 400
    assert "Spa with this Web address already exists." in field_error(response, "slug")
    assert list(Spa.objects.values_list("name", flat=True)) == ["The Original Glow"]


@pytest.mark.parametrize(
    ("upload", "message"),
    [
        (lambda: SimpleUploadedFile("logo.png", _png((1100, 1000), noise=True), "image/png"), "2 MB or smaller"),
        (lambda: SimpleUploadedFile("logo.png", b"MZ not really a picture", "image/png"), "Upload a valid image."),
        (
            lambda: SimpleUploadedFile(
                "logo.svg", b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>', "image/svg+xml"
            ),
            "Upload a valid image.",
        ),
        (
            lambda: SimpleUploadedFile("logo.svg", _png(), "image/svg+xml"),
            "File extension “svg” is not allowed. Allowed extensions are: png, jpg, jpeg, webp, gif.",
        ),
    ],
    ids=["over-2-mb", "not-an-image", "svg", "png-named-svg"],
)
def test_a_bad_logo_is_refused_beside_the_logo_field(newcomer_client, upload, message):
    response = newcomer_client.post(reverse("spa_create"), {**VALID_SPA, "logo": upload()})

    assert response.status_code == 400
    assert message in field_error(response, "logo")
    assert _spa_count() == 0


# --- settings ---------------------------------------------------------------------------------


def _settings_url(spa):
    return reverse("spas:settings", args=[spa.slug])


def _settings_data(spa, **changes):
    return {
        "name": spa.name,
        "timezone": spa.timezone,
        "country": spa.country,
        "brand_colour": spa.brand_colour,
        "referral_email": spa.referral_email,
        **changes,
    }


def test_the_owner_sees_the_settings_form(owner_client, spa):
    response = owner_client.get(_settings_url(spa))

    assert response.status_code == 200
    assert 'value="Serene Test Spa"' in response.content.decode()


def test_the_owner_can_change_the_settings(owner, owner_client, spa):
    response = owner_client.post(
        _settings_url(spa),
        _settings_data(
            spa,
            name="Serene Day Spa",
            timezone="Europe/London",
            referral_phone="(617) 555-0199",
            brand_colour="#aa3366",
            require_owner_mfa="on",
        ),
    )

    assert response.status_code == 302
    assert response["Location"] == _settings_url(spa)
    spa.refresh_from_db()
    assert spa.name == "Serene Day Spa"
    assert spa.timezone == "Europe/London"
    assert spa.referral_phone == "+16175550199"
    assert spa.brand_colour == "#aa3366"
    assert spa.require_owner_mfa is True
    assert spa.slug == "serene-test"
    with scopes_disabled():
        event = AuditEvent.objects.get(spa=spa, action="spa.updated")
    assert event.actor == owner
    assert event.detail["fields"] == ["brand_colour", "name", "referral_phone", "require_owner_mfa", "timezone"]


def test_the_spas_country_reads_its_phone_numbers(owner_client, spa):
    assert spa.country == "US"

    response = owner_client.post(_settings_url(spa), _settings_data(spa, country="GB", phone="020 7946 0958"))

    assert response.status_code == 302
    spa.refresh_from_db()
    assert spa.country == "GB"
    assert spa.phone == "+442079460958"


def test_a_bad_spa_phone_is_refused_with_an_example(owner_client, spa):
    response = owner_client.post(_settings_url(spa), _settings_data(spa, referral_phone="617-CALL-NOW"))

    assert response.status_code == 400
    assert field_error(response, "referral_phone") == "Enter the phone number in digits, such as (617) 555-0123."
    spa.refresh_from_db()
    assert spa.referral_phone == ""


def test_the_settings_form_cannot_change_the_web_address(owner_client, spa):
    owner_client.post(_settings_url(spa), _settings_data(spa, slug="hijacked"))

    spa.refresh_from_db()
    assert spa.slug == "serene-test"


def test_saving_unchanged_settings_writes_no_audit_event(owner_client, spa):
    response = owner_client.post(_settings_url(spa), _settings_data(spa))

    assert response.status_code == 302
    with scopes_disabled():
        assert not AuditEvent.objects.filter(spa=spa).exists()


def test_the_owner_can_upload_and_then_clear_the_logo(owner_client, spa):
    owner_client.post(_settings_url(spa), _settings_data(spa, logo=SimpleUploadedFile("logo.png", _png(), "image/png")))
    spa.refresh_from_db()
    assert spa.logo

    response = owner_client.post(_settings_url(spa), _settings_data(spa, **{"logo-clear": "on"}))

    assert response.status_code == 302
    spa.refresh_from_db()
    assert not spa.logo


def test_bad_settings_show_field_errors_and_change_nothing(owner_client, spa):
    response = owner_client.post(
        _settings_url(spa), _settings_data(spa, name="", brand_colour="teal", timezone="Nowhere/Atlantis")
    )

    assert response.status_code == 400
    assert field_error(response, "name") == "This field is required."
    assert field_error(response, "brand_colour") == "Enter a colour like #2a7a78."
    assert "Select a valid choice." in field_error(response, "timezone")
    spa.refresh_from_db()
    assert spa.name == "Serene Test Spa"
    assert spa.brand_colour == "#2a7a78"
    assert spa.timezone == "America/New_York"
    with scopes_disabled():
        assert not AuditEvent.objects.filter(spa=spa).exists()


def test_a_bad_logo_in_settings_changes_nothing(owner_client, spa):
    response = owner_client.post(
        _settings_url(spa),
        _settings_data(spa, name="Renamed", logo=SimpleUploadedFile("logo.png", b"garbage", "image/png")),
    )

    assert response.status_code == 400
    assert "Upload a valid image." in field_error(response, "logo")
    spa.refresh_from_db()
    assert spa.name == "Serene Test Spa"
    assert not spa.logo


@pytest.mark.parametrize("member", ["staff_user", "manager_user"])
def test_only_owners_may_open_or_change_the_settings(request, client_for, spa, member):
    client = client_for(request.getfixturevalue(member))

    assert client.get(_settings_url(spa)).status_code == 403
    response = client.post(_settings_url(spa), _settings_data(spa, name="Taken Over"))

    assert response.status_code == 403
    spa.refresh_from_db()
    assert spa.name == "Serene Test Spa"


def test_another_spas_owner_gets_404_on_our_settings(outsider_client, spa):
    assert outsider_client.get(_settings_url(spa)).status_code == 404
    assert outsider_client.post(_settings_url(spa), _settings_data(spa, name="Taken Over")).status_code == 404
    spa.refresh_from_db()
    assert spa.name == "Serene Test Spa"


def test_our_workspace_is_404_for_another_spas_owner(outsider_client, spa):
    assert outsider_client.get(reverse("insights:dashboard", args=[spa.slug])).status_code == 404


def test_an_anonymous_visitor_is_sent_to_sign_in_from_the_settings(client, spa):
    response = client.get(_settings_url(spa))

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_login"))


def test_a_spa_that_does_not_exist_is_404(owner_client, spa):
    assert owner_client.get(reverse("insights:dashboard", args=["no-such-spa"])).status_code == 404


# --- the home page ----------------------------------------------------------------------------


def test_home_sends_an_anonymous_visitor_to_sign_in(client, db):
    response = client.get(reverse("home"))

    assert response["Location"] == reverse("account_login")


def test_home_sends_a_user_without_a_spa_to_create_one(newcomer_client):
    response = newcomer_client.get(reverse("home"))

    assert response.status_code == 302
    assert response["Location"] == reverse("spa_create")


def test_home_sends_a_member_of_one_spa_straight_to_it(staff_client, spa):
    response = staff_client.get(reverse("home"))

    assert response.status_code == 302
    assert response["Location"] == reverse("insights:dashboard", args=[spa.slug])


def test_home_lets_a_member_of_several_spas_choose(client_for, spa, other_spa):
    user = UserFactory()
    MembershipFactory(spa=spa, user=user, role=Role.STAFF)
    MembershipFactory(spa=other_spa, user=user, role=Role.OWNER)

    response = client_for(user).get(reverse("home"))

    assert response.status_code == 200
    page = response.content.decode()
    assert "Choose a spa" in page
    assert f'href="{reverse("insights:dashboard", args=[spa.slug])}"' in page
    assert f'href="{reverse("insights:dashboard", args=[other_spa.slug])}"' in page
    assert "Serene Test Spa" in page
    assert "Outsider Wellness" in page


def test_home_returns_a_member_of_several_spas_to_the_last_one_opened(client_for, spa, other_spa):
    user = UserFactory()
    MembershipFactory(spa=spa, user=user)
    MembershipFactory(spa=other_spa, user=user)
    client = client_for(user)
    client.get(reverse("insights:dashboard", args=[other_spa.slug]))

    response = client.get(reverse("home"))

    assert response["Location"] == reverse("insights:dashboard", args=[other_spa.slug])


def test_the_chooser_lists_only_the_users_own_spas(staff_client, spa, other_spa):
    response = staff_client.get(reverse("spa_choose"))

    page = response.content.decode()
    assert "Serene Test Spa" in page
    assert "Outsider Wellness" not in page
