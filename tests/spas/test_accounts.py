"""Accounts through django-allauth: sign-up, verification, sign-in, reset, enumeration, rate limits, MFA."""

import re
import time

from allauth.account.models import EmailAddress
from allauth.mfa import app_settings as mfa_settings
from allauth.mfa.models import Authenticator
from allauth.mfa.totp.internal.auth import TOTP, format_hotp_value, generate_totp_secret, hotp_value
from django.test import Client
from django.urls import reverse

from spas.models import Role, User

from ..factories import TEST_PASSWORD, MembershipFactory, SpaFactory, UserFactory

NEW_PASSWORD = "A-long-unusual-passphrase-42"
CODE_LINE = re.compile(r"^\s*([A-Z0-9]{4}-[A-Z0-9]{4})\s*$", re.M)


def _code_in(body):
    match = CODE_LINE.search(body)
    assert match, f"no code in email body:\n{body}"
    return match.group(1)


def _sign_up(client, email="newcomer@example.com"):
    return client.post(
        reverse("account_signup"), {"email": email, "password1": NEW_PASSWORD, "password2": NEW_PASSWORD}
    )


def _main_text(response):
    """The page's <main>, without the per-request CSRF token, for comparing two responses."""
    html = response.content.decode()
    main = re.search(r"<main.*?</main>", html, re.S).group(0)
    return re.sub(r'name="csrfmiddlewaretoken" value="[^"]*"', "", main)


def _is_signed_in(client):
    return "_auth_user_id" in client.session


# --- sign-up and email verification ------------------------------------------------------------


def test_signup_creates_an_unverified_user_and_queues_a_code_email_without_a_spa(client, db, outbox_rows):
    response = _sign_up(client)

    assert response.status_code == 302
    assert response["Location"] == reverse("account_email_verification_sent")
    user = User.objects.get(email="newcomer@example.com")
    assert user.check_password(NEW_PASSWORD)
    assert not EmailAddress.objects.get(user=user).verified
    [row] = outbox_rows(to="newcomer@example.com")
    assert row.spa is None
    assert row.template == "account/email/email_confirmation_signup"
    assert _code_in(row.body_text)


def test_signup_verification_email_is_delivered_by_the_outbox(client, db, deliver_outbox):
    _sign_up(client)

    [mail] = deliver_outbox()

    assert mail.to == ["newcomer@example.com"]
    assert _code_in(mail.body)


def test_account_emails_name_the_site_and_the_address(client, db, outbox_rows):
    """The adapter must pass allauth's own context (current_site, email) to the templates."""
    client.post(reverse("account_reset_password"), {"email": "nobody@example.com"})

    [row] = outbox_rows(to="nobody@example.com")
    assert "Hello from testserver!" in row.body_text
    assert "account with email nobody@example.com" in row.body_text


def test_an_unverified_user_cannot_get_in(client, db):
    _sign_up(client)

    assert not _is_signed_in(client)
    response = client.get(reverse("spa_create"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_login"))


def test_an_unverified_user_cannot_sign_in_with_a_password(client, db):
    user = UserFactory(email="unverified@example.com")
    EmailAddress.objects.filter(user=user).update(verified=False)

    response = client.post(reverse("account_login"), {"login": "unverified@example.com", "password": TEST_PASSWORD})

    assert response.status_code == 302
    assert response["Location"] == reverse("account_email_verification_sent")
    assert not _is_signed_in(client)


def test_entering_the_emailed_code_verifies_the_address_and_signs_in(client, db, outbox_rows):
    _sign_up(client)
    code = _code_in(outbox_rows(to="newcomer@example.com")[0].body_text)

    response = client.post(reverse("account_email_verification_sent"), {"code": code})

    assert response.status_code == 302
    assert EmailAddress.objects.get(email="newcomer@example.com").verified
    assert _is_signed_in(client)
    assert client.get(reverse("home"))["Location"] == reverse("spa_create")


def test_a_wrong_code_does_not_verify(client, db):
    _sign_up(client)

    response = client.post(reverse("account_email_verification_sent"), {"code": "AAAA-AAAA"})

    assert response.status_code == 200
    assert "Incorrect code." in response.content.decode()
    assert not EmailAddress.objects.get(email="newcomer@example.com").verified
    assert not _is_signed_in(client)


# --- signing in ---------------------------------------------------------------------------------


def test_login_with_the_right_password_signs_in(client, db):
    UserFactory(email="known@example.com")

    response = client.post(reverse("account_login"), {"login": "known@example.com", "password": TEST_PASSWORD})

    assert response.status_code == 302
    assert response["Location"] == reverse("home")
    assert _is_signed_in(client)


def test_login_with_a_wrong_password_is_refused(client, db):
    UserFactory(email="known@example.com")

    response = client.post(reverse("account_login"), {"login": "known@example.com", "password": "not-it"})

    assert response.status_code == 200
    assert "The email address and/or password you specified are not correct." in response.content.decode()
    assert not _is_signed_in(client)


def test_login_by_emailed_code_signs_in(client, db, outbox_rows):
    UserFactory(email="known@example.com")

    response = client.post(reverse("account_request_login_code"), {"email": "known@example.com"})
    assert response["Location"] == reverse("account_confirm_login_code")
    [row] = outbox_rows(to="known@example.com")
    assert row.spa is None
    assert row.template == "account/email/login_code"

    response = client.post(reverse("account_confirm_login_code"), {"code": _code_in(row.body_text)})

    assert response.status_code == 302
    assert _is_signed_in(client)


def test_login_by_code_refuses_a_wrong_code(client, db):
    UserFactory(email="known@example.com")
    client.post(reverse("account_request_login_code"), {"email": "known@example.com"})

    response = client.post(reverse("account_confirm_login_code"), {"code": "AAAA-AAAA"})

    assert response.status_code == 200
    assert "Incorrect code." in response.content.decode()
    assert not _is_signed_in(client)


def test_password_reset_emails_a_working_link_through_the_outbox(client, db, outbox_rows):
    user = UserFactory(email="known@example.com")

    response = client.post(reverse("account_reset_password"), {"email": "known@example.com"})

    assert response["Location"] == reverse("account_reset_password_done")
    [row] = outbox_rows(to="known@example.com")
    assert row.spa is None
    assert row.template == "account/email/password_reset_key"
    link = re.search(r"http://testserver(/accounts/password/reset/key/\S+/)", row.body_text).group(1)
    form_page = client.get(link, follow=True)
    assert form_page.status_code == 200
    response = client.post(
        form_page.redirect_chain[-1][0], {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD}, follow=True
    )
    assert response.status_code == 200
    user.refresh_from_db()
    assert user.check_password(NEW_PASSWORD)


# --- no account enumeration ----------------------------------------------------------------------


def test_password_reset_answers_the_same_for_known_and_unknown_addresses(db):
    UserFactory(email="known@example.com")
    known, unknown = Client(), Client()

    known_post = known.post(reverse("account_reset_password"), {"email": "known@example.com"})
    unknown_post = unknown.post(reverse("account_reset_password"), {"email": "unknown@example.com"})

    assert known_post.status_code == unknown_post.status_code == 302
    assert known_post["Location"] == unknown_post["Location"]
    known_page = known.get(known_post["Location"])
    unknown_page = unknown.get(unknown_post["Location"])
    assert known_page.status_code == unknown_page.status_code == 200
    assert _main_text(known_page) == _main_text(unknown_page)


def test_login_by_code_answers_the_same_for_known_and_unknown_addresses(db):
    UserFactory(email="known@example.com")
    known, unknown = Client(), Client()

    known_post = known.post(reverse("account_request_login_code"), {"email": "known@example.com"})
    unknown_post = unknown.post(reverse("account_request_login_code"), {"email": "unknown@example.com"})

    assert known_post.status_code == unknown_post.status_code == 302
    assert known_post["Location"] == unknown_post["Location"]
    known_page = known.get(known_post["Location"])
    unknown_page = unknown.get(unknown_post["Location"])
    assert known_page.status_code == unknown_page.status_code == 200
    # The page repeats the address typed in; apart from that it must be identical.
    assert _main_text(known_page).replace("known@example.com", "EMAIL") == _main_text(unknown_page).replace(
        "unknown@example.com", "EMAIL"
    )


def test_an_unknown_address_gets_no_code_it_could_use(db, outbox_rows):
    Client().post(reverse("account_request_login_code"), {"email": "unknown@example.com"})

    [row] = outbox_rows(to="unknown@example.com")
    assert row.template == "account/email/unknown_account"
    assert not CODE_LINE.search(row.body_text)
    assert not User.objects.filter(email="unknown@example.com").exists()


# --- rate limit -----------------------------------------------------------------------------------


def test_repeated_failed_logins_lock_out_even_the_right_password(client, db):
    UserFactory(email="known@example.com")
    for _attempt in range(5):
        response = client.post(reverse("account_login"), {"login": "known@example.com", "password": "guess"})
        assert "are not correct" in response.content.decode()

    response = client.post(reverse("account_login"), {"login": "known@example.com", "password": TEST_PASSWORD})

    assert "Too many failed login attempts" in response.content.decode()
    assert not _is_signed_in(client)


def test_a_few_failed_logins_do_not_lock_out(client, db):
    UserFactory(email="known@example.com")
    for _attempt in range(3):
        client.post(reverse("account_login"), {"login": "known@example.com", "password": "guess"})

    client.post(reverse("account_login"), {"login": "known@example.com", "password": TEST_PASSWORD})

    assert _is_signed_in(client)


# --- two-factor authentication --------------------------------------------------------------------


def test_the_mfa_page_is_reachable_for_any_signed_in_user(client_for, db):
    response = client_for(UserFactory()).get(reverse("mfa_index"))

    assert response.status_code == 200


def test_the_mfa_page_needs_a_sign_in(client, db):
    response = client.get(reverse("mfa_index"))

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_login"))


def test_an_owner_without_totp_is_sent_to_set_it_up_when_the_spa_requires_it(owner_client, spa):
    spa.require_owner_mfa = True
    spa.save()

    response = owner_client.get(reverse("insights:dashboard", args=[spa.slug]))

    assert response.status_code == 302
    assert response["Location"] == reverse("mfa_activate_totp")


def test_staff_are_not_asked_for_totp_when_the_spa_requires_it_of_owners(staff_client, spa):
    spa.require_owner_mfa = True
    spa.save()

    response = staff_client.get(reverse("insights:dashboard", args=[spa.slug]))

    assert response.status_code == 200


def test_owners_are_not_asked_for_totp_when_the_spa_does_not_require_it(owner_client, spa):
    response = owner_client.get(reverse("insights:dashboard", args=[spa.slug]))

    assert response.status_code == 200


def test_an_owner_with_totp_gets_in_when_the_spa_requires_it(owner, owner_client, spa):
    spa.require_owner_mfa = True
    spa.save()
    TOTP.activate(owner, generate_totp_secret())

    response = owner_client.get(reverse("insights:dashboard", args=[spa.slug]))

    assert response.status_code == 200
    assert spa.name in response.content.decode()


def test_the_owner_mfa_rule_of_one_spa_does_not_apply_to_another(client_for, db):
    user = UserFactory()
    strict = SpaFactory(require_owner_mfa=True)
    relaxed = SpaFactory(require_owner_mfa=False)
    MembershipFactory(spa=strict, user=user, role=Role.OWNER)
    MembershipFactory(spa=relaxed, user=user, role=Role.OWNER)
    client = client_for(user)

    assert client.get(reverse("insights:dashboard", args=[strict.slug])).status_code == 302
    assert client.get(reverse("insights:dashboard", args=[relaxed.slug])).status_code == 200


def test_an_owner_who_activates_totp_in_the_browser_then_gets_in(owner, spa, client):
    spa.require_owner_mfa = True
    spa.save()
    client.post(reverse("account_login"), {"login": owner.email, "password": TEST_PASSWORD})
    redirect = client.get(reverse("insights:dashboard", args=[spa.slug]))
    assert redirect["Location"] == reverse("mfa_activate_totp")
    # allauth asks for the password again before an authenticator is added.
    reauthenticate = client.get(redirect["Location"])
    assert reauthenticate["Location"].startswith(reverse("account_reauthenticate"))
    client.post(reverse("account_reauthenticate"), {"password": TEST_PASSWORD})
    assert client.get(reverse("mfa_activate_totp")).status_code == 200
    secret = client.session["mfa.totp.secret"]
    code = format_hotp_value(hotp_value(secret, int(time.time()) // mfa_settings.TOTP_PERIOD))

    response = client.post(reverse("mfa_activate_totp"), {"code": code})

    assert response.status_code == 302
    assert Authenticator.objects.filter(user=owner, type=Authenticator.Type.TOTP).exists()
    assert client.get(reverse("insights:dashboard", args=[spa.slug])).status_code == 200
