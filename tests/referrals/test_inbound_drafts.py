"""The spa's side of referrals by email and text: the inbox's "to confirm" group, the list, one message, confirming
it into a referral (the manual-entry form, pre-filled) and discarding it; outsiders see nothing."""

import html
import re

import pytest
from django.core.cache import cache
from django.core.files.storage import FileSystemStorage
from django.urls import reverse
from django_scopes import scope

from infra.models import OutgoingEmail
from referrals.models import (
    ConsentMethod,
    InboundDraftAttachment,
    InboundReferralDraft,
    Referral,
    ReferralEvent,
)
from referrals.patient_rights.services import patient_erase

from ..factories import ClinicianFactory, OfficeContactFactory, UserFactory
from .inbound_helpers import (
    pdf_attachment,
    png_attachment,
    post_email,
    post_sms,
    referral_email,
    referral_pdf,
    stored_inbound_files,
    twilio_params,
)
from .portal_helpers import give_portal_access, logged_in
from .spa_helpers import audit_actions, count, field_error, make_practice, page_text, reload, rows, url

FRONT_DESK = "frontdesk@brookline-derm.example"


@pytest.fixture
def derm(spa):
    practice = make_practice(spa, name="Brookline Dermatology", specialty="dermatology")
    with scope(spa=spa):
        OfficeContactFactory(spa=spa, practice=practice, name="Frida Frontdesk", email=FRONT_DESK)
        ClinicianFactory(spa=spa, practice=practice, first_name="Asha", last_name="Patel")
    return practice


@pytest.fixture
def draft(inbound, client, spa, derm):
    """A message with a PDF and a picture, as the provider's webhook delivers it."""
    post_email(client, referral_email(spa, attachments=[png_attachment(), pdf_attachment()]))
    return rows(InboundReferralDraft, spa=spa)[0]


def inbound_url(name, draft, *args):
    return reverse(f"inbound:{name}", args=[draft.spa.slug, draft.public_id, *args])


def _confirm_data(draft, **changes):
    attachment = rows(InboundDraftAttachment, draft=draft)[1]
    data = {
        "practice": str(draft.practice.public_id),
        "clinician": "",
        "patient_first_name": "Jane",
        "patient_last_name": "Doe",
        "patient_phone": "(617) 555-0142",
        "patient_email": "",
        "preferred_contact_method": "phone",
        "preferred_contact_time": "",
        "patient_date_of_birth": "",
        "reason_category": "post_procedure_skin_care",
        "reason_text": "Post-procedure skin care.",
        "precautions": "",
        "urgency": "routine",
        "attachment": str(attachment.public_id),
        "consent_to_contact": "on",
    }
    data.update(changes)
    return {name: value for name, value in data.items() if value is not None}


# --- the inbox's group and the list ---------------------------------------------------------------------------


def test_the_inbox_shows_how_many_messages_wait_and_updates_when_one_arrives(
    inbound, client, spa, owner_client, django_capture_on_commit_callbacks
):
    assert "to confirm" not in page_text(owner_client.get(url("inbox", spa)))
    with django_capture_on_commit_callbacks(execute=True):
        post_email(client, referral_email(spa))
        post_email(client, referral_email(spa, subject="Another"))

    response = owner_client.get(url("inbox", spa))

    assert response.context["drafts_pending"] == 2
    assert "2 referrals by email or text to confirm." in html.unescape(page_text(response))


def test_a_warm_inbox_counts_no_drafts(inbound, client, spa, owner_client, django_assert_max_num_queries):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    post_email(client, referral_email(spa))
    owner_client.get(url("inbox", spa))
    with CaptureQueriesContext(connection) as warm:
        assert owner_client.get(url("inbox", spa)).context["drafts_pending"] == 1
    assert not [query for query in warm.captured_queries if "inboundreferraldraft" in query["sql"].lower()]


def test_the_list_shows_the_messages_to_confirm_with_their_sender(draft, owner_client, spa):
    response = owner_client.get(reverse("inbound:list", args=[spa.slug]))

    text = html.unescape(page_text(response))
    assert response.status_code == 200
    assert "Brookline Dermatology" in text and "Brookline Dermatology Front Desk" in text
    assert inbound_url("confirm", draft) in text
    assert [(value, count) for value, _label, count in response.context["tabs"]] == [
        ("pending", 1),
        ("confirmed", 0),
        ("discarded", 0),
    ]


def test_an_empty_list_says_where_clinics_send_referrals(inbound, owner_client, spa):
    text = html.unescape(page_text(owner_client.get(reverse("inbound:list", args=[spa.slug]))))

    assert "No message waits for you." in text
    assert f"{spa.slug}@in.spa-referrals.example" in text


def test_a_server_without_intake_says_so(owner_client, spa):
    text = page_text(owner_client.get(reverse("inbound:list", args=[spa.slug])))

    assert "Email intake is not set up on this server yet" in text
    assert "No text number yet" in text


# --- one message ------------------------------------------------------------------------------------------------


def test_a_message_page_shows_the_text_escaped_and_its_attachments_and_is_audited(inbound, client, spa, owner_client):
    post_email(
        client,
        referral_email(spa, text="<script>alert('x')</script> Patient: Jane Doe", attachments=[pdf_attachment()]),
    )
    draft = rows(InboundReferralDraft, spa=spa)[0]

    response = owner_client.get(inbound_url("detail", draft))

    text = page_text(response)
    assert "<script>alert" not in text and "&lt;script&gt;alert" in text
    attachment = rows(InboundDraftAttachment, draft=draft)[0]
    assert inbound_url("attachment", draft, attachment.public_id) in text
    assert "Sender not recognised" in text
    assert audit_actions(spa)[-1] == "inbound_draft.viewed"


def test_another_drafts_attachment_is_not_found_through_this_draft(inbound, client, spa, owner_client, draft):
    post_email(client, referral_email(spa, subject="Other", attachments=[pdf_attachment()]))
    other = rows(InboundReferralDraft, spa=spa, subject="Other")[0]
    others_attachment = rows(InboundDraftAttachment, draft=other)[0]

    response = owner_client.get(inbound_url("attachment", draft, others_attachment.public_id))

    assert response.status_code == 404


# --- confirming --------------------------------------------------------------------------------------------------


def test_confirming_opens_the_manual_entry_form_filled_in_from_the_message(draft, owner_client):
    response = owner_client.get(inbound_url("confirm", draft))

    assert response.status_code == 200
    form = response.context["form"]
    assert form.initial["practice"] == draft.practice
    assert (form.initial["patient_first_name"], form.initial["patient_last_name"]) == ("Jane", "Doe")
    assert form.initial["patient_phone"] == "+16175550142"
    assert "Post-procedure skin care" in form.initial["reason_text"]
    assert form.initial["attachment"].name == "Referral form.pdf"  # the PDF before the picture
    text = page_text(response)
    assert "channel" not in form.fields and "consent_method" not in form.fields
    assert 'value="(617) 555-0142"' in text


def test_confirming_makes_the_referral_with_the_clinic_attestation_to_be_confirmed(draft, owner_client, spa, owner):
    assert count(OutgoingEmail) == 0

    response = owner_client.post(inbound_url("confirm", draft), _confirm_data(draft))

    referral = rows(Referral, spa=spa)[0]
    assert response.status_code == 302
    assert response["Location"] == url("detail", spa, referral.public_id)
    assert (referral.channel, referral.practice_id, referral.patient_name) == ("email", draft.practice_id, "Jane Doe")
    assert referral.consent_method == ConsentMethod.CLINIC_ATTESTATION
    assert referral.consent_captured_by.startswith(f"Referring office attests by email from {FRONT_DESK}, ")
    assert "to be confirmed with the patient" in referral.consent_captured_by
    assert FRONT_DESK in referral.consent_captured_by and owner.email in referral.consent_captured_by
    with scope(spa=spa):
        assert referral.attachment.read() == referral_pdf()
    assert referral.attachment_name == "Referral form.pdf"
    confirmed = reload(draft)
    assert (confirmed.status, confirmed.referral_id, confirmed.decided_by_id) == ("confirmed", referral.pk, owner.pk)
    assert confirmed.body  # the original message stays, linked from the referral
    # Only now is the team told, as for any new referral.
    assert [email.to for email in rows(OutgoingEmail, template="referral-new")] == [owner.email]
    notes = [event.note for event in rows(ReferralEvent, referral=referral, kind="note")]
    assert len(notes) == 1 and "to be confirmed with the patient at first contact" in notes[0]
    assert notes[0].startswith(f"Arrived by email from {FRONT_DESK}.")
    assert audit_actions(spa)[-2:] == ["referral.created", "inbound_draft.confirmed"]
    page = page_text(owner_client.get(url("detail", spa, referral.public_id)))
    assert inbound_url("detail", draft) in page


def test_a_text_is_confirmed_as_a_text_message_referral(inbound, client, spa, owner_client):
    from django.core.management import call_command

    practice = make_practice(spa, name="Back Bay PT", specialty="physical_therapy")
    call_command("inbound_sms_number", spa.slug, "+16175550100")
    post_sms(client, twilio_params("+16175550100"))
    draft = rows(InboundReferralDraft, spa=spa)[0]

    owner_client.post(
        inbound_url("confirm", draft),
        {
            "practice": str(practice.public_id),
            "patient_first_name": "Jane",
            "patient_last_name": "Doe",
            "patient_phone": "617-555-0199",
            "preferred_contact_method": "text",
            "reason_category": "other",
            "urgency": "routine",
            "consent_to_contact": "on",
        },
    )

    referral = rows(Referral, spa=spa)[0]
    assert (referral.channel, referral.get_channel_display()) == ("text", "Text message")
    assert "by text message from +16175550142" in referral.consent_captured_by
    [note] = [event.note for event in rows(ReferralEvent, referral=referral, kind="note")]
    assert note.startswith("Arrived by text message from +16175550142.")


def test_without_the_attestation_nothing_is_saved_and_the_form_says_why(draft, owner_client, spa):
    response = owner_client.post(inbound_url("confirm", draft), _confirm_data(draft, consent_to_contact=None))

    assert response.status_code == 400
    assert "ask the practice first" in field_error(response, "consent_to_contact")
    assert 'class="alert alert-danger error-summary"' in page_text(response)
    assert count(Referral, spa=spa) == 0
    assert reload(draft).status == "pending"


def test_another_spas_practice_or_attachment_is_refused(draft, owner_client, spa, other_spa, inbound, client):
    foreign = make_practice(other_spa, name="Outsider Derm")
    post_email(client, referral_email(other_spa, attachments=[pdf_attachment()]))
    foreign_attachment = rows(InboundDraftAttachment, spa=other_spa)[0]

    by_practice = owner_client.post(
        inbound_url("confirm", draft), _confirm_data(draft, practice=str(foreign.public_id))
    )
    by_attachment = owner_client.post(
        inbound_url("confirm", draft), _confirm_data(draft, attachment=str(foreign_attachment.public_id))
    )

    assert (by_practice.status_code, by_attachment.status_code) == (400, 400)
    assert field_error(by_practice, "practice") and field_error(by_attachment, "attachment")
    assert count(Referral, spa=spa) == 0


def test_a_second_confirm_of_the_same_message_leads_to_its_referral(draft, owner_client, spa):
    owner_client.post(inbound_url("confirm", draft), _confirm_data(draft))

    again = owner_client.post(inbound_url("confirm", draft), _confirm_data(draft))

    referral = rows(Referral, spa=spa)[0]
    assert count(Referral, spa=spa) == 1
    assert again["Location"] == url("detail", spa, referral.public_id)


# --- discarding ---------------------------------------------------------------------------------------------------


def test_discarding_deletes_the_content_and_keeps_a_row_so_a_retry_creates_nothing(
    draft, owner_client, spa, owner, client, django_capture_on_commit_callbacks
):
    assert len(stored_inbound_files()) == 2

    with django_capture_on_commit_callbacks(execute=True):
        response = owner_client.post(inbound_url("discard", draft))

    assert response["Location"] == reverse("inbound:list", args=[spa.slug])
    tombstone = reload(draft)
    assert (tombstone.status, tombstone.decided_by_id) == ("discarded", owner.pk)
    assert (tombstone.subject, tombstone.body, tombstone.sender_name, tombstone.attachments_refused) == ("", "", "", [])
    assert tombstone.content_erased_at is not None
    assert tombstone.sender == FRONT_DESK
    assert count(InboundDraftAttachment, draft=draft) == 0
    assert stored_inbound_files() == []
    assert audit_actions(spa)[-1] == "inbound_draft.discarded"
    assert count(OutgoingEmail) == 0
    # The provider delivers the same message again: nothing new.
    message = referral_email(spa, message_id=draft.provider_message_id)
    assert post_email(client, message).status_code == 200
    assert count(InboundReferralDraft, spa=spa) == 1


def test_discarding_succeeds_when_the_storage_refuses_to_delete_the_files(
    draft, owner_client, spa, monkeypatch, caplog, django_capture_on_commit_callbacks
):
    # What a bucket's client raises is no OSError (botocore's ClientError, say): the discard has committed by the
    # time the files go, so their failure is logged for an operator and the person sees the discard done.
    def bucket_refuses(storage, name):
        raise RuntimeError("AccessDenied")

    monkeypatch.setattr(FileSystemStorage, "delete", bucket_refuses)

    with django_capture_on_commit_callbacks(execute=True):
        response = owner_client.post(inbound_url("discard", draft))

    assert response.status_code == 302
    assert response["Location"] == reverse("inbound:list", args=[spa.slug])
    tombstone = reload(draft)
    assert tombstone.status == "discarded"
    assert (tombstone.subject, tombstone.body, tombstone.sender_name, tombstone.attachments_refused) == ("", "", "", [])
    assert count(InboundDraftAttachment, draft=draft) == 0
    assert len(stored_inbound_files()) == 2  # left behind, and named in the log
    failures = [record for record in caplog.records if record.getMessage().startswith("Could not delete")]
    assert len(failures) == 2


def test_a_discarded_message_cannot_be_confirmed(draft, owner_client, spa):
    data = _confirm_data(draft)
    owner_client.post(inbound_url("discard", draft))

    response = owner_client.post(inbound_url("confirm", draft), data)

    assert response["Location"] == inbound_url("detail", draft)
    assert count(Referral, spa=spa) == 0


def test_discarding_needs_a_post(draft, owner_client):
    assert owner_client.get(inbound_url("discard", draft)).status_code == 405
    assert reload(draft).status == "pending"


# --- the referral's erasure takes its message along ------------------------------------------------------------------


def test_erasing_the_referral_erases_the_message_it_came_from(
    draft, owner_client, spa, owner, django_capture_on_commit_callbacks
):
    owner_client.post(inbound_url("confirm", draft), _confirm_data(draft))
    referral = rows(Referral, spa=spa)[0]

    with django_capture_on_commit_callbacks(execute=True), scope(spa=spa):
        patient_erase(spa=spa, referrals=[referral], actor=owner, request_channel="email")

    erased = reload(draft)
    assert (erased.subject, erased.body) == ("", "")
    assert erased.content_erased_at is not None
    assert count(InboundDraftAttachment, draft=draft) == 0
    assert stored_inbound_files() == []


# --- outsiders -------------------------------------------------------------------------------------------------------


ROUTES = ["list", "detail", "confirm", "discard", "attachment"]


def _path(name, draft):
    if name == "list":
        return reverse("inbound:list", args=[draft.spa.slug])
    if name == "attachment":
        return inbound_url(name, draft, rows(InboundDraftAttachment, draft=draft)[0].public_id)
    return inbound_url(name, draft)


@pytest.mark.parametrize("name", ROUTES)
def test_anonymous_visitors_are_sent_to_sign_in(draft, name):
    from django.test import Client

    response = Client().get(_path(name, draft))

    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")


@pytest.mark.parametrize("name", ROUTES)
@pytest.mark.parametrize("method", ["get", "post"])
def test_another_spas_member_and_a_clinic_user_get_404(draft, derm, outsider_client, name, method):
    portal_user = give_portal_access(derm, UserFactory(email="clinic@brookline-derm.example")).user
    for client in (outsider_client, logged_in(portal_user)):
        response = getattr(client, method)(_path(name, draft))
        assert response.status_code == 404
        assert "Jane" not in page_text(response)
    assert reload(draft).status == "pending"


@pytest.mark.parametrize("name", ["detail", "confirm", "discard"])
def test_our_draft_through_another_spas_address_is_the_missing_404(draft, outsider_client, other_spa, name):
    import uuid

    theirs = reverse(f"inbound:{name}", args=[other_spa.slug, draft.public_id])
    missing = reverse(f"inbound:{name}", args=[other_spa.slug, uuid.uuid4()])

    send = outsider_client.post if name == "discard" else outsider_client.get
    ours, unknown = send(theirs), send(missing)

    assert ours.status_code == unknown.status_code == 404
    assert ours.content == unknown.content
    assert reload(draft).status == "pending"


def test_the_referral_rules_page_shows_the_address_and_number(inbound, owner_client, spa):
    from django.core.management import call_command

    call_command("inbound_sms_number", spa.slug, "+16175550100")
    cache.clear()

    text = page_text(owner_client.get(url("settings", spa)))

    assert f"{spa.slug}@in.spa-referrals.example" in text
    assert "(617) 555-0100" in text
    assert re.search(r"Referrals by email and text", text)


def test_an_attachment_missing_from_storage_is_said_beside_the_field(draft, owner_client, spa):
    attachment = rows(InboundDraftAttachment, draft=draft)[1]
    attachment.file.storage.delete(attachment.file.name)

    response = owner_client.post(inbound_url("confirm", draft), _confirm_data(draft))

    assert response.status_code == 400
    assert "file is missing" in field_error(response, "attachment")
    assert count(Referral, spa=spa) == 0


def test_the_list_runs_a_constant_number_of_queries(
    inbound, client, spa, derm, owner_client, django_assert_max_num_queries, django_assert_num_queries
):
    for n in range(2):
        post_email(client, referral_email(spa, subject=f"Few {n}", attachments=[pdf_attachment()]))
    owner_client.get(reverse("inbound:list", args=[spa.slug]))
    with django_assert_max_num_queries(20) as few:
        owner_client.get(reverse("inbound:list", args=[spa.slug]))
    budget = len(few.captured_queries)  # read now: the posts below empty the connection's query log

    for n in range(10):
        post_email(client, referral_email(spa, subject=f"Many {n}", sender=f"someone{n}@elsewhere.example"))

    with django_assert_num_queries(budget):
        response = owner_client.get(reverse("inbound:list", args=[spa.slug]))
    assert len(response.context["page"].object_list) == 12
