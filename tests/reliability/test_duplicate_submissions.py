"""One rendered referral form posted many times — a double click, a resend, 20 at the same moment — makes one
referral, and every post is answered with the same success page (referrals/intake/submissions.py). Two rendered
forms make two referrals, even with identical details; the same form with other details is refused with a
message instead of being silently taken for a repeat.

The three forms people fill in: the partner portal's, the patient landing page's and the spa's manual entry.
The concurrent posts need PostgreSQL (SQLite serialises every write, so there is no race to lose there).
"""

import re
import threading

import pytest
from django.db import connection
from django_scopes import scopes_disabled

from infra.models import OutgoingEmail
from referrals.intake.submissions import submission_tokens_purge
from referrals.models import Referral, SubmissionToken
from tests.conftest import postgres_only

from .conftest import (
    PATIENT_IP,
    landing_form,
    landing_url,
    manual_form,
    manual_form_url,
    portal_form,
    portal_form_url,
)
from .support import submission_token

FORMS = ["portal", "landing", "manual"]
POSTERS = 20


class Form:
    """One of the three referral forms, as a person's browser uses it."""

    def __init__(self, kind, *, spa, practice, make_browser):
        self.kind = kind
        self.spa = spa
        self.practice = practice
        self.make_browser = make_browser
        self.url = {"portal": portal_form_url, "landing": lambda spa: landing_url(), "manual": manual_form_url}[kind](
            spa
        )

    def data(self, **overrides):
        if self.kind == "portal":
            return portal_form(**overrides)
        if self.kind == "landing":
            return landing_form(**overrides)
        return manual_form(self.practice, **overrides)

    def render(self, browser):
        response = browser.get(self.url, REMOTE_ADDR=PATIENT_IP)
        assert response.status_code == 200
        return submission_token(response)

    def post(self, browser, token, **overrides):
        data = {**self.data(**overrides), "submission_token": token}
        return browser.post(self.url, data, REMOTE_ADDR=PATIENT_IP)

    def success_page(self, browser, response):
        """What the person sees after the redirect, reduced to what identifies the referral it is about."""
        assert response.status_code == 302, response.content.decode()[:3000]
        page = browser.get(response["Location"], REMOTE_ADDR=PATIENT_IP)
        assert page.status_code == 200
        text = page.content.decode()
        if self.kind == "portal":
            assert "Referral sent" in text
            [referral_link] = re.findall(rf"/portal/{self.spa.slug}/referrals/([0-9a-f-]{{36}})/", text)
            return referral_link
        if self.kind == "landing":
            assert "Thank you!" in text
            return response["Location"]
        assert "Referral saved. First contact is due by" in text
        return response["Location"]


@pytest.fixture
def form_of(spa, practice, portal_user, owner, client_for, settings):
    # Twenty posts at once from one address: this suite is about duplicates, not the landing page's lookup limit.
    settings.LANDING_LOOKUPS_PER_MINUTE = 1000
    from django.test import Client

    def browser_for(kind):
        if kind == "portal":
            return lambda: client_for(portal_user)
        if kind == "manual":
            return lambda: client_for(owner)
        return Client

    def make(kind):
        return Form(kind, spa=spa, practice=practice, make_browser=browser_for(kind))

    return make


def referrals_of(spa):
    with scopes_disabled():
        return list(Referral.objects.filter(spa=spa))


def notifications_of(spa):
    with scopes_disabled():
        return list(OutgoingEmail.objects.filter(spa=spa, template="referral-new"))


# --- one after the other ---------------------------------------------------------------------------


@pytest.mark.parametrize("kind", FORMS)
def test_posting_one_rendered_form_twice_makes_one_referral_and_the_same_success_page(kind, form_of, spa):
    form = form_of(kind)
    browser = form.make_browser()
    token = form.render(browser)

    first = form.success_page(browser, form.post(browser, token))
    again = form.success_page(browser, form.post(browser, token))
    # Another tab or device that had the same page open (the same form, a second session).
    elsewhere = form.make_browser()
    third = form.success_page(elsewhere, form.post(elsewhere, token))

    [referral] = referrals_of(spa)
    assert first == again == third
    if kind != "landing":  # the patient's thank-you page names no referral
        assert str(referral.public_id) in first
    assert len(notifications_of(spa)) == 1


@pytest.mark.parametrize("kind", FORMS)
def test_two_rendered_forms_with_the_same_details_make_two_referrals(kind, form_of, spa):
    form = form_of(kind)
    browser = form.make_browser()
    first_token, second_token = form.render(browser), form.render(browser)
    assert first_token != second_token

    form.success_page(browser, form.post(browser, first_token))
    form.success_page(browser, form.post(browser, second_token))

    assert len(referrals_of(spa)) == 2
    assert len(notifications_of(spa)) == 2


@pytest.mark.parametrize("kind", FORMS)
def test_the_same_form_sent_again_with_other_details_is_refused_with_a_message_not_dropped(kind, form_of, spa):
    """Back, another patient typed into the old page, Send: that is not a repeat, and must not vanish."""
    form = form_of(kind)
    browser = form.make_browser()
    token = form.render(browser)
    form.success_page(browser, form.post(browser, token))

    refused = form.post(browser, token, patient_first_name="Ada", patient_last_name="Lovelace")

    assert refused.status_code == 400
    text = refused.content.decode()
    assert "This form was already sent with other details. Check them and send the form again." in text
    assert 'value="Ada"' in text  # what they typed is still there
    fresh_token = submission_token(refused)
    assert fresh_token != token
    assert len(referrals_of(spa)) == 1
    # Sending it again as the page now stands goes through, once.
    form.success_page(browser, form.post(browser, fresh_token, patient_first_name="Ada", patient_last_name="Lovelace"))
    assert sorted(referral.patient_first_name for referral in referrals_of(spa)) == [
        "Ada",
        form.data()["patient_first_name"],
    ]


@pytest.mark.parametrize("kind", FORMS)
def test_a_form_refused_for_a_mistake_keeps_its_token_and_goes_through_once_corrected(kind, form_of, spa):
    form = form_of(kind)
    browser = form.make_browser()
    token = form.render(browser)

    mistake = form.post(browser, token, patient_last_name="")
    assert mistake.status_code == 400
    assert submission_token(mistake) == token  # nothing was claimed: the same form, corrected, is still it
    assert referrals_of(spa) == []

    first = form.success_page(browser, form.post(browser, token))
    again = form.success_page(browser, form.post(browser, token))
    assert first == again
    assert len(referrals_of(spa)) == 1


def test_a_post_without_a_token_still_makes_its_referral(form_of, spa):
    """Pages rendered before the guard existed (and scripts) keep working; they are just not deduplicated."""
    form = form_of("portal")
    browser = form.make_browser()
    form.success_page(browser, browser.post(form.url, form.data()))
    assert len(referrals_of(spa)) == 1


def test_claims_are_forgotten_after_a_day(form_of, spa):
    from datetime import timedelta

    from django.utils import timezone
    from django_scopes import scope

    form = form_of("manual")
    browser = form.make_browser()
    form.success_page(browser, form.post(browser, form.render(browser)))
    with scope(spa=spa):
        assert submission_tokens_purge(spa=spa) == 0
        assert submission_tokens_purge(spa=spa, now=timezone.now() + timedelta(hours=25)) == 1
        assert not SubmissionToken.objects.filter(spa=spa).exists()
    assert len(referrals_of(spa)) == 1


# --- at the same moment -------------------------------------------------------------------------


def _post_concurrently(form, tokens):
    """One browser (its own session and database connection) per token, all posting at the same instant."""
    browsers = [form.make_browser() for _token in tokens]
    barrier = threading.Barrier(len(tokens))
    responses = [None] * len(tokens)
    errors = []

    def post(index):
        try:
            barrier.wait(timeout=30)
            responses[index] = form.post(browsers[index], tokens[index])
        except Exception as error:  # noqa: BLE001 - reported below with the poster's number
            errors.append((index, repr(error)))
        finally:
            connection.close()

    threads = [threading.Thread(target=post, args=(index,), daemon=True) for index in range(len(tokens))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(thread.is_alive() for thread in threads), "a post hung"
    assert errors == []
    return [form.success_page(browser, response) for browser, response in zip(browsers, responses, strict=True)]


@postgres_only
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("kind", FORMS)
def test_twenty_concurrent_posts_of_one_rendered_form_make_one_referral(kind, form_of, spa):
    form = form_of(kind)
    token = form.render(form.make_browser())

    pages = _post_concurrently(form, [token] * POSTERS)

    [referral] = referrals_of(spa)
    assert len(set(pages)) == 1  # every one of the 20 saw the same success page
    if kind != "landing":
        assert str(referral.public_id) in pages[0]
    assert len(notifications_of(spa)) == 1


@postgres_only
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("kind", FORMS)
def test_concurrent_posts_of_two_rendered_forms_make_two_referrals(kind, form_of, spa):
    form = form_of(kind)
    browser = form.make_browser()
    first, second = form.render(browser), form.render(browser)

    pages = _post_concurrently(form, [first, second] * (POSTERS // 2))

    referrals = referrals_of(spa)
    assert len(referrals) == 2
    assert len(notifications_of(spa)) == 2
    if kind != "landing":
        assert {str(referral.public_id) in page for page in pages for referral in referrals} == {True, False}
        assert len(set(pages)) == 2
