"""Rendering moves to the worker (issue 15): the request stores a template's name and a JSON context; the drain
renders each row in the enqueuing request's language and time zone, keeps the text on the row and sends exactly
that. A row that cannot be rendered fails alone, for good."""

import datetime
import smtplib

import pytest
from django.conf import settings
from django.db import transaction
from django.template.loader import render_to_string
from django.test.signals import template_rendered
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone, translation
from django_scopes import scope, scopes_disabled
from freezegun import freeze_time

from infra import outbox
from infra.models import OutgoingEmail
from infra.outbox import email_enqueue, email_enqueue_rendered
from partners.models import Practice
from referrals.services import referral_create
from spas.models import Role
from spas.services import invitation_create
from tests.factories import PracticeFactory
from tests.rendered_emails import rendered

Status = OutgoingEmail.Status
LOS_ANGELES = "America/Los_Angeles"


@pytest.fixture
def templates_rendered():
    """The names of the templates rendered while the test runs (Django's test instrumentation)."""
    names = []

    def record(sender, template, context, **kwargs):
        names.append(template.name)

    template_rendered.connect(record)
    yield names
    template_rendered.disconnect(record)


@pytest.fixture
def practice(spa):
    with scope(spa=spa):
        return PracticeFactory(spa=spa, name="Brookline Dermatology")


def _invitation_context(spa, inviter):
    return {
        "spa": spa,
        "inviter": inviter,
        "role": Role.STAFF.label,
        "accept_url": "http://testserver/invitations/abc123/",
        "expires_at": timezone.now() + datetime.timedelta(days=7),
    }


def _outcome_shared(spa, practice, to="desk@derm.example"):
    return email_enqueue(
        spa=spa,
        to=to,
        template_name="outcome-shared",
        context={"spa": spa, "practice": practice, "url": "http://testserver/portal/outcome/"},
    )


def _row(email):
    with scopes_disabled():
        return OutgoingEmail.objects.get(pk=email.pk)


def _rendered_in_the_request(template_name, context):
    """What ``email_enqueue`` stored before rendering moved to the worker: the templates rendered right there."""
    context = {"site_url": settings.SITE_URL, **context}
    subject = " ".join(render_to_string(f"emails/{template_name}-subject.txt", context).split())
    body_text = render_to_string(f"emails/{template_name}-body.txt", context)
    body_html = render_to_string(f"emails/{template_name}-body.html", context)
    return subject, body_text, body_html


def _sent(message):
    [(html, _mimetype)] = message.alternatives
    return message.subject, message.body, html


# --- The request renders nothing -------------------------------------------------------------------------


def test_enqueueing_renders_no_template_and_stores_the_template_and_its_context(spa, owner, templates_rendered):
    with translation.override("de"), timezone.override(LOS_ANGELES):
        email = email_enqueue(
            spa=spa, to="new@serene.example", template_name="invitation", context=_invitation_context(spa, owner)
        )

    assert templates_rendered == []
    row = _row(email)
    assert (row.subject, row.body_text, row.body_html, row.rendered_at) == ("", "", "", None)
    assert row.status == Status.PENDING
    assert row.template == "invitation"
    assert (row.language, row.time_zone) == ("de", LOS_ANGELES)
    assert row.context["spa"] == {"$model": "spas.Spa", "pk": spa.pk}
    assert row.context["inviter"] == {"$model": "spas.User", "pk": owner.pk}
    assert set(row.context["expires_at"]) == {"$datetime"}
    assert row.context["role"] == "Staff"

    # The instrumentation does see a rendering when there is one.
    rendered(row)
    assert {"emails/invitation-subject.txt", "emails/invitation-body.txt"} <= set(templates_rendered)


def test_an_account_email_arrives_rendered_and_is_sent_as_it_came(db, mailoutbox, templates_rendered):
    email = email_enqueue_rendered(to="new@example.com", subject="Your code", body_text="1234-5678", body_html="<p>")

    assert _row(email).rendered_at is not None
    assert outbox.drain() == 1

    assert templates_rendered == []
    assert _sent(mailoutbox[0]) == ("Your code", "1234-5678", "<p>")


# --- The worker renders, keeps the text and sends exactly that ----------------------------------------------


def test_the_drain_renders_the_row_keeps_the_text_and_sends_exactly_that(
    spa, owner, mailoutbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        email = email_enqueue(
            spa=spa, to="new@serene.example", template_name="invitation", context=_invitation_context(spa, owner)
        )

    row = _row(email)
    assert row.status == Status.SENT
    assert row.rendered_at is not None
    assert row.subject == "You're invited to join Serene Test Spa on Spa Referrals"
    assert "Olivia Owner invited you to join Serene Test Spa as Staff." in row.body_text
    assert "<strong>Serene Test Spa</strong>" in row.body_html
    [message] = mailoutbox
    assert _sent(message) == (row.subject, row.body_text, row.body_html)


def test_a_retry_sends_the_text_of_the_first_rendering(spa, practice, smtp_server):
    smtp_server.sendmail.side_effect = smtplib.SMTPRecipientsRefused({"desk@derm.example": (450, b"4.2.1 Busy")})
    email = _outcome_shared(spa, practice)

    assert outbox.drain() == 0
    first = _row(email)
    assert first.status == Status.PENDING
    assert "Brookline Dermatology" in first.body_text  # kept on the row with the failure

    with scopes_disabled():
        Practice.objects.filter(pk=practice.pk).update(name="Renamed Since")
        OutgoingEmail.objects.filter(pk=email.pk).update(next_attempt_at=timezone.now())
    smtp_server.sendmail.side_effect = None
    assert outbox.drain() == 1

    row = _row(email)
    assert (row.status, row.subject, row.body_text, row.rendered_at) == (
        Status.SENT,
        first.subject,
        first.body_text,
        first.rendered_at,
    )
    [(_from, _to, raw_message), _kwargs] = smtp_server.sendmail.call_args
    assert b"Brookline Dermatology" in raw_message and b"Renamed Since" not in raw_message


def test_the_single_row_delivery_renders_the_row_too(spa, practice, mailoutbox):
    email = _outcome_shared(spa, practice)

    assert outbox.deliver(email.pk) == Status.SENT

    row = _row(email)
    assert row.subject == "Serene Test Spa shared an outcome report with your office"
    assert _sent(mailoutbox[0]) == (row.subject, row.body_text, row.body_html)


# --- A row that cannot be rendered fails for good, alone ---------------------------------------------------


def test_a_row_that_cannot_be_rendered_is_failed_for_good_and_the_rest_of_its_batch_goes_out(
    spa, practice, smtp_server
):
    with scope(spa=spa):
        closed = PracticeFactory(spa=spa, name="Closed Practice")
    first = _outcome_shared(spa, practice, to="first@derm.example")
    orphan = _outcome_shared(spa, closed, to="orphan@derm.example")
    broken = email_enqueue(spa=spa, to="broken@derm.example", template_name="no-such-email", context={"spa": spa})
    last = _outcome_shared(spa, practice, to="last@derm.example")
    closed_pk = closed.pk
    with scopes_disabled():
        closed.delete()

    assert outbox.drain() == 2

    assert [row.status for row in map(_row, (first, orphan, broken, last))] == [
        Status.SENT,
        Status.FAILED,
        Status.FAILED,
        Status.SENT,
    ]
    orphan_row, broken_row = _row(orphan), _row(broken)
    assert orphan_row.last_error == f"UndecodableContext: The partners.Practice with pk {closed_pk} no longer exists."
    assert broken_row.last_error == "TemplateDoesNotExist: emails/no-such-email-subject.txt"
    for row in (orphan_row, broken_row):
        assert (row.attempts, row.subject, row.body_text, row.rendered_at) == (1, "", "", None)
    assert [recipients for (_from, recipients, _message), _kw in smtp_server.sendmail.call_args_list] == [
        ["first@derm.example"],
        ["last@derm.example"],
    ]
    # Permanent: no later drain tries them again.
    assert outbox.due_email_ids() == []
    assert outbox.drain() == 0


def test_the_single_row_delivery_fails_a_row_that_cannot_be_rendered_for_good(spa, practice, mailoutbox):
    email = _outcome_shared(spa, practice)
    with scopes_disabled():
        practice.delete()

    assert outbox.deliver(email.pk) == Status.FAILED

    row = _row(email)
    assert row.last_error.startswith("UndecodableContext: The partners.Practice")
    assert outbox.due_email_ids() == []
    assert mailoutbox == []


def test_a_batch_loads_its_records_with_the_same_queries_however_many_emails_it_holds(spa, practice, mailoutbox):
    def drain_queries(count):
        with scope(spa=spa):
            practices = [PracticeFactory(spa=spa, name=f"Practice {number}") for number in range(count)]
        for number, each in enumerate(practices):
            _outcome_shared(spa, each, to=f"desk{number}@derm.example")
        with CaptureQueriesContext(transaction.get_connection()) as queries:
            assert outbox.drain() == count
        return len(queries)

    assert drain_queries(2) == drain_queries(20)
    assert len(mailoutbox) == 22


# --- The worker's text is the request's -------------------------------------------------------------------


@freeze_time("2030-03-04 17:00:00")
def test_the_worker_renders_the_new_referral_notice_as_the_request_would_have(spa, owner, practice, mailoutbox):
    spa.timezone = LOS_ANGELES
    spa.save(update_fields=["timezone"])
    # The request: a German-speaking user in the spa's workspace, on the spa's clock.
    with translation.override("de"), timezone.override(LOS_ANGELES), scope(spa=spa):
        referral = referral_create(
            spa=spa,
            practice=practice,
            channel="phone",
            consent_method="verbal",
            consent_captured_by="Front desk",
            patient={"patient_first_name": "Maria", "patient_last_name": "Lopez", "patient_phone": "6175550142"},
        )
        expected = _rendered_in_the_request(
            "referral-new",
            {
                "spa": spa,
                "practice": practice,
                "channel": referral.get_channel_display(),
                "url": settings.SITE_URL + reverse("referrals:detail", args=[spa.slug, referral.public_id]),
                "due": referral.first_contact_due_at,
            },
        )
    assert "Mittwoch" in expected[1]  # German: the worker's own language would say "Wednesday"

    with translation.override("en-us"), timezone.override("UTC"):  # the worker
        assert outbox.drain() == 1

    [row] = _rows_for(spa)
    assert (row.subject, row.body_text, row.body_html) == expected
    assert _sent(mailoutbox[0]) == expected
    assert "Maria" not in str(row.context) and "Lopez" not in str(row.context)


@freeze_time("2030-02-22 05:00:00")
def test_the_worker_shows_a_date_on_the_enqueuing_request_s_clock(spa, owner, mailoutbox):
    # Expires March 1, 5 a.m. UTC: still February 28 on the spa's clock, where the request ran.
    with timezone.override(LOS_ANGELES), scope(spa=spa):
        invitation = invitation_create(spa=spa, email="new@serene.example", role=Role.STAFF, invited_by=owner)
        expected = _rendered_in_the_request(
            "invitation",
            {
                "spa": spa,
                "inviter": owner,
                "role": "Staff",
                "accept_url": settings.SITE_URL + reverse("invitation_accept", args=[invitation.token]),
                "expires_at": invitation.expires_at,
            },
        )
    assert "The link is valid until Feb. 28, 2030." in expected[1]  # on the worker's UTC clock: March 1

    with timezone.override("UTC"):  # the worker
        assert outbox.drain() == 1

    [row] = _rows_for(spa)
    assert (row.subject, row.body_text, row.body_html) == expected


def _rows_for(spa):
    with scopes_disabled():
        return list(OutgoingEmail.objects.filter(spa=spa))
