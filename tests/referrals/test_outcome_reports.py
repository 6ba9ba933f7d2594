"""Outcome reports: drafts, the sharing rule (checked at share and again under lock at delivery), the
portal (own practice only, every read audited), the link-only email and the one-page PDF."""

import io
from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone
from django_scopes import scope, scopes_disabled
from pypdf import PdfReader

from infra.models import AuditEvent
from referrals.consent import services as consent
from referrals.models import Authorization, OutcomeDelivery, OutcomeReport, ReferralEvent
from referrals.outcomes.delivery import outcome_report_deliver
from referrals.outcomes.services import outcome_report_save, outcome_report_share
from tests.factories import OfficeContactFactory, ServiceFactory
from tests.rendered_emails import rendered

from .portal_helpers import make_referral, portal_url

TYPED = Authorization.SignatureMethod.TYPED
OBSERVATION = "Redness settled after the second session"
CONTACT_EMAIL = "office@brookline-derm.example"


@pytest.fixture
def referral(practice_a):
    return make_referral(practice_a, first="Ada", last="Lovelace")


@pytest.fixture
def contact(practice_a):
    with scope(spa=practice_a.spa):
        return OfficeContactFactory(practice=practice_a, email=CONTACT_EMAIL)


@pytest.fixture
def service(spa):
    with scope(spa=spa):
        return ServiceFactory(spa=spa, name="Barrier repair facial")


def authorize(referral, **extra):
    with scope(spa=referral.spa):
        authorization, _token = consent.authorization_create(
            referral=referral, signature_method=TYPED, signer_name="Ada Lovelace", **extra
        )
    return authorization


def draft(referral, owner, service, **extra):
    with scope(spa=referral.spa):
        return outcome_report_save(
            referral=referral,
            author=owner,
            services=[service.public_id],
            sessions=3,
            observations=OBSERVATION,
            recommendations="Continue monthly; avoid retinoids for a week.",
            measures={"skin_response": "improved", "tolerance": "good"},
            **extra,
        )


def share_and_deliver(report, owner, django_capture_on_commit_callbacks):
    with scope(spa=report.spa), django_capture_on_commit_callbacks(execute=True):
        return outcome_report_share(report=report, actor=owner)


def views_of(report):
    with scopes_disabled():
        return AuditEvent.objects.filter(action="outcome_report.viewed", object_id=str(report.public_id)).count()


def test_sharing_without_an_authorization_is_refused_with_a_message(referral, owner, service, owner_client, spa):
    report = draft(referral, owner, service)
    with scope(spa=spa), pytest.raises(ValidationError, match="authorization"):
        outcome_report_share(report=report, actor=owner)
    response = owner_client.post(reverse("outcomes:share", args=[spa.slug, referral.public_id]), follow=True)
    assert "authorization to share outcomes" in response.content.decode()
    with scope(spa=spa):
        assert not OutcomeDelivery.objects.exists()
        assert OutcomeReport.objects.get(pk=report.pk).status == OutcomeReport.Status.DRAFT


def test_an_expired_authorization_blocks_sharing(referral, owner, service, spa):
    authorization = authorize(referral)
    with scopes_disabled():
        Authorization.objects.filter(pk=authorization.pk).update(expires_at=timezone.now() - timedelta(minutes=1))
    report = draft(referral, owner, service)
    with scope(spa=spa), pytest.raises(ValidationError):
        outcome_report_share(report=report, actor=owner)
    with scope(spa=spa):
        assert not OutcomeDelivery.objects.exists()


def test_measures_must_fit_the_specialty_template(referral, owner, service):
    # A physical-therapy measure on a dermatology referral.
    with scope(spa=referral.spa), pytest.raises(ValidationError):
        outcome_report_save(
            referral=referral,
            author=owner,
            services=[service.public_id],
            sessions=1,
            observations="",
            recommendations="",
            measures={"pain_before": 4},
        )


def test_a_shared_report_is_delivered_to_its_practice_only_and_emailed_as_a_link(
    referral,
    owner,
    service,
    contact,
    spa,
    portal_client_a,
    portal_client_b,
    outbox_rows,
    django_capture_on_commit_callbacks,
):
    authorize(referral)
    report = draft(referral, owner, service)
    delivery = share_and_deliver(report, owner, django_capture_on_commit_callbacks)
    with scope(spa=spa):
        delivery.refresh_from_db()
        assert delivery.status == OutcomeDelivery.Status.DELIVERED
        assert delivery.authorization is not None

    listing = portal_client_a.get(portal_url("outcomes", spa))
    assert str(report.public_id) in listing.content.decode()
    page = portal_client_a.get(portal_url("outcome", spa, report.public_id))
    assert page.status_code == 200
    assert OBSERVATION in page.content.decode()
    assert "Barrier repair facial" in page.content.decode()

    assert str(report.public_id) not in portal_client_b.get(portal_url("outcomes", spa)).content.decode()
    assert portal_client_b.get(portal_url("outcome", spa, report.public_id)).status_code == 404
    assert portal_client_b.get(portal_url("outcome_pdf", spa, report.public_id)).status_code == 404

    [email] = map(rendered, outbox_rows(to=CONTACT_EMAIL))
    link = reverse("portal:outcome", args=[spa.slug, report.public_id])
    assert link in email.body_text
    for health_info in (OBSERVATION, "Ada", "Lovelace", "Barrier repair", "improved", "retinoids"):
        assert health_info not in email.subject
        assert health_info not in email.body_text
        assert health_info not in email.body_html


def test_a_revocation_between_share_and_delivery_stops_the_delivery_and_tells_the_author(
    referral,
    owner,
    owner_client,
    service,
    contact,
    spa,
    portal_client_a,
    outbox_rows,
    django_capture_on_commit_callbacks,
):
    authorization = authorize(referral)
    report = draft(referral, owner, service)
    with scope(spa=spa), django_capture_on_commit_callbacks(execute=False) as callbacks:
        delivery = outcome_report_share(report=report, actor=owner)
    assert len(callbacks) == 1
    with scope(spa=spa):
        consent.authorization_revoke(authorization=authorization, channel="patient_link")
        outcome_report_deliver(delivery.pk)
        delivery.refresh_from_db()
        assert delivery.status == OutcomeDelivery.Status.REFUSED
        assert "revoked or expired" in delivery.reason
        assert OutcomeDelivery.objects.filter(status=OutcomeDelivery.Status.DELIVERED).count() == 0
        note = ReferralEvent.objects.filter(referral=referral, kind=ReferralEvent.Kind.NOTE).last()
        assert "not delivered" in note.note
    assert outbox_rows(to=CONTACT_EMAIL) == []
    assert portal_client_a.get(portal_url("outcome", spa, report.public_id)).status_code == 404
    # The author sees why on the report page.
    response = owner_client.get(reverse("outcomes:edit", args=[spa.slug, referral.public_id]))
    assert "revoked or expired" in response.content.decode()


def test_an_interim_update_is_a_new_delivery(
    referral, owner, service, spa, portal_client_a, django_capture_on_commit_callbacks
):
    authorize(referral)
    report = draft(referral, owner, service)
    share_and_deliver(report, owner, django_capture_on_commit_callbacks)
    updated = draft(referral, owner, service)
    assert updated.version == 2
    assert updated.status == OutcomeReport.Status.DRAFT
    share_and_deliver(updated, owner, django_capture_on_commit_callbacks)
    with scope(spa=spa):
        assert list(OutcomeDelivery.objects.order_by("id").values_list("report_version", "status")) == [
            (1, "delivered"),
            (2, "delivered"),
        ]
    assert "version 2" in portal_client_a.get(portal_url("outcome", spa, report.public_id)).content.decode()


def test_every_read_of_a_report_writes_exactly_one_audit_event(
    referral, owner, service, spa, portal_client_a, owner_client, django_capture_on_commit_callbacks
):
    authorize(referral)
    report = draft(referral, owner, service)
    share_and_deliver(report, owner, django_capture_on_commit_callbacks)
    assert views_of(report) == 0
    portal_client_a.get(portal_url("outcome", spa, report.public_id))
    assert views_of(report) == 1
    portal_client_a.get(portal_url("outcome_pdf", spa, report.public_id))
    assert views_of(report) == 2
    owner_client.get(reverse("outcomes:edit", args=[spa.slug, referral.public_id]))
    assert views_of(report) == 3
    portal_client_a.get(portal_url("outcomes", spa))  # the list shows names only, no report content
    assert views_of(report) == 3


def test_the_pdf_is_one_page_with_the_report(
    referral, owner, service, spa, portal_client_a, django_capture_on_commit_callbacks
):
    authorize(referral)
    report = draft(referral, owner, service)
    share_and_deliver(report, owner, django_capture_on_commit_callbacks)
    response = portal_client_a.get(portal_url("outcome_pdf", spa, report.public_id))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    pages = PdfReader(io.BytesIO(response.content)).pages
    assert len(pages) == 1
    text = " ".join(pages[0].extract_text().split())
    for expected in (
        "Outcome report",
        "Ada Lovelace",
        "Barrier repair facial",
        OBSERVATION,
        "Skin response",
        "Improved",
    ):
        assert expected in text


def test_the_author_writes_and_saves_a_draft_from_the_referral(referral, owner_client, service, spa):
    url = reverse("outcomes:edit", args=[spa.slug, referral.public_id])
    assert owner_client.get(url).status_code == 200
    response = owner_client.post(
        url,
        {
            "services": [str(service.public_id)],
            "sessions": "2",
            "observations": OBSERVATION,
            "recommendations": "",
            "measure_skin_response": "improved",
            "measure_tolerance": "",
        },
    )
    assert response.status_code == 302
    with scope(spa=spa):
        report = OutcomeReport.objects.get(referral=referral)
    assert report.sessions == 2
    assert report.measures == {"skin_response": "improved"}
    invalid = owner_client.post(url, {"sessions": "0"})
    assert invalid.status_code == 400


def test_outsiders_cannot_reach_a_report(referral, outsider_client, spa):
    assert outsider_client.get(reverse("outcomes:edit", args=[spa.slug, referral.public_id])).status_code == 404


def test_the_spa_previews_its_draft_as_a_one_page_pdf_and_each_preview_is_audited(
    referral, owner, owner_client, service, spa
):
    report = draft(referral, owner, service)
    url = reverse("outcomes:pdf", args=[spa.slug, referral.public_id])
    response = owner_client.get(url)
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert "no-store" in response["Cache-Control"]
    pages = PdfReader(io.BytesIO(response.content)).pages
    assert len(pages) == 1
    text = " ".join(pages[0].extract_text().split())
    assert OBSERVATION in text and "Draft" in text
    assert views_of(report) == 1


def test_the_pdf_preview_needs_a_report_and_a_member(referral, owner_client, outsider_client, client, spa):
    url = reverse("outcomes:pdf", args=[spa.slug, referral.public_id])
    assert owner_client.get(url).status_code == 404  # nothing written yet
    assert outsider_client.get(url).status_code == 404
    assert client.get(url).status_code == 302


def test_a_shared_report_offers_an_interim_update(
    referral, owner, owner_client, service, spa, django_capture_on_commit_callbacks
):
    authorize(referral)
    report = draft(referral, owner, service)
    share_and_deliver(report, owner, django_capture_on_commit_callbacks)
    page = owner_client.get(reverse("outcomes:edit", args=[spa.slug, referral.public_id])).content.decode()
    assert "Save as an interim update (version 2)" in page
