"""The confirm form: manual entry, pre-filled from a draft, with the draft's attachment to keep instead of an upload
and the consent fixed to the referring office's attestation (to be confirmed with the patient)."""

from django import forms
from django.utils.translation import gettext_lazy as _

from ..intake.forms import ErrorSummaryMixin, ManualReferralForm
from .guesses import patient_guesses
from .models import InboundDraftAttachment

REASON_TEXT_MAX = 2000  # Referral.reason_text's limit


class DraftConfirmForm(ErrorSummaryMixin, ManualReferralForm):
    """What staff complete before a draft becomes a referral. The channel is the draft's (email or text)."""

    summary_labels = {"consent_to_contact": _("Consent to be contacted")}

    attachment = forms.ModelChoiceField(
        label=_("Attachment to keep on the referral"),
        queryset=InboundDraftAttachment.objects.none(),
        to_field_name="public_id",
        required=False,
        empty_label=_("None"),
        help_text=_("Every attachment stays with the original message, linked from the referral."),
    )

    def __init__(self, *args, spa, draft, **kwargs):
        super().__init__(*args, spa=spa, **kwargs)
        del self.fields["channel"]
        del self.fields["consent_method"]
        self.fields["attachment"].queryset = InboundDraftAttachment.objects.filter(spa=spa, draft=draft)
        consent = self.fields["consent_to_contact"]
        consent.label = _(
            "The referring office says the patient agreed to be contacted by the spa. I will confirm it with the "
            "patient at first contact."
        )
        consent.error_messages["required"] = _(
            "Tick this only if the message says the patient agreed to be contacted; otherwise ask the practice first."
        )

    def clean_attachment(self):
        return self.cleaned_data.get("attachment")  # one of the draft's, checked when the message arrived

    @staticmethod
    def initial_for(draft, *, spa):
        """The form as the draft suggests it: its matched practice and clinician, the patient's details where the
        message labels them, the message as the details, its first PDF (or first file) as the attachment."""
        initial = {"reason_category": "other"}
        if draft.practice_id:
            initial["practice"] = draft.practice
        if draft.clinician_id:
            initial["clinician"] = draft.clinician
        initial.update(patient_guesses(draft.body, region=spa.country, sender=draft.sender))
        text = "\n\n".join(part for part in (draft.subject, draft.body) if part)
        initial["reason_text"] = text[:REASON_TEXT_MAX]
        attachments = list(draft.attachments.all())
        pdfs = [attachment for attachment in attachments if attachment.name.lower().endswith(".pdf")]
        if attachments:
            initial["attachment"] = (pdfs or attachments)[0]
        return initial
