"""Sample URL parameter values for the tenancy walk, one builder per parameter name.

Each builder gets the spa under test and returns a value (usually a UUID of an object the spa
owns). When a later issue adds a workspace URL with a new parameter, add its builder here; the
walk fails loudly until it exists, so no view escapes the check.
"""

from django_scopes import scope

from partners.models import Practice, PracticeImport
from spas.models import Role, Service
from tests.factories import (
    ClinicianFactory,
    InvitationFactory,
    MembershipFactory,
    OfficeContactFactory,
    PracticeFactory,
)


def _member_id(spa):
    with scope(spa=spa):
        return MembershipFactory(spa=spa).public_id


def _invitation_id(spa):
    return InvitationFactory(spa=spa, email="walk-invitee@example.com").public_id


def _practice(spa):
    with scope(spa=spa):
        practice = Practice.objects.filter(spa=spa, name="Walk Sample Dermatology").first()
        return practice or PracticeFactory(spa=spa, name="Walk Sample Dermatology")


def _clinician_id(spa):
    with scope(spa=spa):
        return ClinicianFactory(spa=spa, practice=_practice(spa), last_name="Walksample").public_id


def _contact_id(spa):
    with scope(spa=spa):
        return OfficeContactFactory(spa=spa, practice=_practice(spa), name="Walk Sample Contact").public_id


def _import_id(spa):
    return PracticeImport.objects.create(
        spa=spa, filename="walk.csv", content="name,specialty\nX,dermatology\n"
    ).public_id


def _prospect_import_id(spa):
    from partners.models import ProspectImport

    with scope(spa=spa):
        return ProspectImport.objects.create(spa=spa, source="file", specialty="dermatology", total=0).public_id


def _service_id(spa):
    return Service.objects.create(
        spa=spa, name="Walk sample facial", category="facial", duration_minutes=30, price=50
    ).public_id


def _referral_id(spa):
    from referrals.services import referral_create

    with scope(spa=spa):
        referral = referral_create(
            spa=spa,
            practice=_practice(spa),
            channel="phone",
            consent_method="verbal",
            consent_captured_by="Walk sample staff",
            notify=False,
            patient={"patient_first_name": "Wanda", "patient_last_name": "Walkpatient", "patient_phone": "555-0100"},
        )
        return referral.public_id


def _authorization_id(spa):
    from referrals.consent.services import authorization_create
    from referrals.models import Referral

    referral_id = _referral_id(spa)
    with scope(spa=spa):
        authorization, _raw_token = authorization_create(
            referral=Referral.objects.get(spa=spa, public_id=referral_id),
            signature_method="typed",
            signer_name="Wanda Walkpatient",
        )
        return authorization.public_id


def _api_key_id(spa):
    from referrals.api.services import api_key_create

    with scope(spa=spa):
        owner = MembershipFactory(spa=spa, role=Role.OWNER).user
        api_key, _raw_key = api_key_create(spa=spa, practice=_practice(spa), name="Walk sample key", actor=owner)
        return api_key.public_id


def _document_id(spa):
    from infra.models import GeneratedDocument

    return GeneratedDocument.objects.create(
        spa=spa,
        kind="sample",
        title="Walk sample document",
        source_type="partners.Practice",
        source_id="x",
        source_version="1",
        options_key="k",
        status="ready",
    ).public_id


def _letter_template(spa):
    from outreach.models import LetterTemplate

    with scope(spa=spa):
        template = LetterTemplate.objects.filter(spa=spa, name="Walk sample letter").first()
        return template or LetterTemplate.objects.create(
            spa=spa, name="Walk sample letter", body="Dear {practice_name}"
        )


def _letter_batch(spa):
    from outreach.letters.services import letter_batch_create
    from outreach.models import LetterBatch

    with scope(spa=spa):
        batch = LetterBatch.objects.filter(spa=spa).first()
        if batch is None:
            batch = letter_batch_create(
                spa=spa, template=_letter_template(spa), practices=[_practice(spa)], requested_by=None
            )
        return batch


def _letter_part_id(spa):
    from infra.models import GeneratedDocument

    with scope(spa=spa):
        return GeneratedDocument.objects.filter(spa=spa, batch=_letter_batch(spa).document).first().public_id


def _task_id(spa):
    from outreach.activity.services import task_create

    with scope(spa=spa):
        task, _created = task_create(spa=spa, title="Walk sample task", due_on="2026-01-05", practice=_practice(spa))
        return task.public_id


def _touchpoint_id(spa):
    from outreach.models import Touchpoint

    with scope(spa=spa):
        return Touchpoint.objects.create(
            spa=spa, practice=_practice(spa), kind="phone_call", occurred_on="2026-01-05", notes="Walk sample call"
        ).public_id


def _campaign(spa):
    from outreach.models import Campaign, CampaignStep

    with scope(spa=spa):
        campaign = Campaign.objects.filter(spa=spa, name="Walk sample campaign").first()
        if campaign is None:
            campaign = Campaign.objects.create(spa=spa, name="Walk sample campaign")
            CampaignStep.objects.create(spa=spa, campaign=campaign, position=1, kind="letter")
        return campaign


def _event(spa):
    from django.utils import timezone

    from outreach.models import Event

    with scope(spa=spa):
        event = Event.objects.filter(spa=spa, title="Walk sample open house").first()
        return event or Event.objects.create(
            spa=spa, kind="open_house", title="Walk sample open house", starts_at=timezone.now()
        )


def _invitee_id(spa):
    from outreach.models import EventInvitee

    with scope(spa=spa):
        return EventInvitee.objects.create(spa=spa, event=_event(spa), practice=_practice(spa)).public_id


def _gift_id(spa):
    from outreach.models import Gift

    with scope(spa=spa):
        clinician = ClinicianFactory(spa=spa, practice=_practice(spa), last_name="Walkgiftee")
        return Gift.objects.create(
            spa=spa,
            practice=_practice(spa),
            recipient_clinician=clinician,
            given_on="2026-01-05",
            kind="meal",
            description="Walk sample lunch",
            fair_market_value=20,
        ).public_id


def _response_id(spa):
    from outreach.models import ObjectionResponse

    with scope(spa=spa):
        return ObjectionResponse.objects.create(
            spa=spa, category="too_busy", objection="Walk sample objection", response="Walk sample answer"
        ).public_id


def _objection_id(spa):
    from outreach.models import ObjectionLog

    with scope(spa=spa):
        return ObjectionLog.objects.create(
            spa=spa, practice=_practice(spa), category="too_busy", outcome="resolved", raised_on="2026-01-05"
        ).public_id


SAMPLE_BUILDERS = {
    "spa_slug": lambda spa: spa.slug,
    "member_id": _member_id,
    "invitation_id": _invitation_id,
    "practice_id": lambda spa: _practice(spa).public_id,
    "clinician_id": _clinician_id,
    "contact_id": _contact_id,
    "import_id": _import_id,
    "prospect_import_id": _prospect_import_id,
    "kind": lambda spa: "services",
    "item_id": _service_id,
    "specialty": lambda spa: "dermatology",
    "referral_id": _referral_id,
    "authorization_id": _authorization_id,
    "document_id": _document_id,
    "key_id": _api_key_id,
    "template_id": lambda spa: _letter_template(spa).public_id,
    "batch_id": lambda spa: _letter_batch(spa).public_id,
    "part_id": _letter_part_id,
    "task_id": _task_id,
    "touchpoint_id": _touchpoint_id,
    "campaign_id": lambda spa: _campaign(spa).public_id,
    "event_id": lambda spa: _event(spa).public_id,
    "invitee_id": _invitee_id,
    "gift_id": _gift_id,
    "response_id": _response_id,
    "objection_id": _objection_id,
    "year": lambda spa: 2026,
}


def sample_values(spa):
    return {name: build(spa) for name, build in SAMPLE_BUILDERS.items()}


def secrets_of(spa):
    """Strings that must never appear in a page shown to someone outside ``spa``."""
    return [
        spa.name,
        spa.slug,
        spa.referral_email,
        "Walk Sample Dermatology",
        "Walksample",
        "Walk Sample Contact",
        "Walk sample facial",
        "Walkpatient",  # the sample referral's patient
        "Walk sample key",
        "Walk sample document",
        "Walk sample letter",
        "Walk sample task",
        "Walk sample call",
        "Walk sample campaign",
        "Walk sample open house",
        "Walkgiftee",
        "Walk sample objection",
        "Walk sample webhook",
        "walk-sample.invalid",
        "Walk sample failure",
    ]


# --- added by issue 9 (the tenant matrix): the portal's outcome report pages ----------------------------


def _report_id(spa):
    """An outcome report delivered to the sample practice (what the portal's /outcomes/<report_id>/ shows)."""
    from referrals.consent.services import authorization_create
    from referrals.models import Referral
    from referrals.outcomes.delivery import outcome_report_deliver
    from referrals.outcomes.services import outcome_report_save, outcome_report_share

    referral_id = _referral_id(spa)
    with scope(spa=spa):
        referral = Referral.objects.get(spa=spa, public_id=referral_id)
        authorization_create(referral=referral, signature_method="typed", signer_name="Wanda Walkpatient")
        author = MembershipFactory(spa=spa, role=Role.MANAGER).user
        report = outcome_report_save(
            referral=referral,
            author=author,
            services=[_service_id(spa)],
            sessions=2,
            observations="Walk sample observation",
            recommendations="Walk sample recommendation",
            measures={},
        )
        outcome_report_deliver(outcome_report_share(report=report, actor=author).pk)
        return report.public_id


SAMPLE_BUILDERS["report_id"] = _report_id


# --- added by issue 18 (outgoing webhooks): an endpoint and one of its deliveries ------------------------------


def _webhook_endpoint(spa):
    """Made as a row, not through the service: the address guard would look the name up (no DNS here), and the
    ``.invalid`` name can never be reached, so nothing is ever posted anywhere from the walk."""
    from referrals.models import WebhookEndpoint
    from referrals.webhooks.signing import secret_encrypt, secret_new

    with scope(spa=spa):
        endpoint = WebhookEndpoint.objects.filter(spa=spa, description="Walk sample webhook").first()
        return endpoint or WebhookEndpoint.objects.create(
            spa=spa,
            practice=_practice(spa),
            url="https://walk-sample.invalid/hooks",
            description="Walk sample webhook",
            events=["referral.received", "referral.accepted"],
            secret_encrypted=secret_encrypt(secret_new()),
        )


def _webhook_delivery_id(spa):
    """A delivery that gave up, so the retry page has something to retry."""
    import uuid

    from referrals.models import WebhookDelivery

    with scope(spa=spa):
        return WebhookDelivery.objects.create(
            spa=spa,
            endpoint=_webhook_endpoint(spa),
            event_type="referral.received",
            event_id=uuid.uuid4(),
            payload={"type": "referral.received", "data": {"spa": spa.slug}},
            status=WebhookDelivery.Status.DEAD,
            attempts=3,
            last_response_code=500,
            last_error="Walk sample failure",
        ).public_id


SAMPLE_BUILDERS["endpoint_id"] = lambda spa: _webhook_endpoint(spa).public_id
SAMPLE_BUILDERS["delivery_id"] = _webhook_delivery_id


# --- added by issue 18: referrals by email and text (the drafts' pages) ----------------------------------------


def _inbound_draft(spa):
    """A message to the spa's referral address from its sample practice's contact, with a PDF (made once)."""
    from referrals.inbound.mime import InboundEmail
    from referrals.inbound.services import inbound_email_accept
    from referrals.models import InboundReferralDraft

    with scope(spa=spa):
        draft = InboundReferralDraft.objects.filter(spa=spa, provider_message_id="<walk-sample@clinic.example>").first()
        if draft is not None:
            return draft
        contact = Practice.objects.get(spa=spa, name="Walk Sample Dermatology").contacts.first()
        sender = contact.email if contact else "walk.sample@clinic.example"
    message = InboundEmail(
        sender=sender,
        sender_name="Walk Sample Contact",
        recipients=[],
        subject="Walk sample referral",
        body="Patient: Wanda Walkpatient\nPhone: 617-555-0100\n\nWalk sample message.",
        message_id="<walk-sample@clinic.example>",
        attachments=[("walk-sample.pdf", b"%PDF-1.4 walk sample referral\n%%EOF\n")],
    )
    [(_spa, draft, _created)] = inbound_email_accept(message=message, spas=[spa], actor_label="Walk sample")
    return draft


def _inbound_attachment_id(spa):
    with scope(spa=spa):
        return _inbound_draft(spa).attachments.get().public_id


SAMPLE_BUILDERS["draft_id"] = lambda spa: _inbound_draft(spa).public_id
SAMPLE_BUILDERS["attachment_id"] = _inbound_attachment_id
