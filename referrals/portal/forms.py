"""Forms for the partner portal (the quick referral form) and the spa's portal panel.

Field names match the Referral model's, so a service's ValidationError lands beside the right field.
"""

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from infra.phones import PhoneNumberFormField
from partners.models import Clinician
from spas.catalog import active_items
from spas.models import Service

from ..attachments import attachment_check
from ..intake.forms import EARLIEST_BIRTH_DATE, ErrorSummaryMixin
from ..models import ATTACHMENT_EXTENSIONS, ContactMethod, Referral, reason_choices


def _model_field(name, **kwargs):
    return Referral._meta.get_field(name).formfield(**kwargs)


class PortalInvitationForm(forms.Form):
    email = forms.EmailField(
        label=_("Email of the clinic staff member"),
        max_length=254,
        widget=forms.EmailInput(attrs={"autocomplete": "off"}),
    )


class PortalReferralForm(ErrorSummaryMixin, forms.Form):
    """What a clinic's front desk fills in: only the essentials are required. The referring clinician comes
    first and starts as the one this person chose last time."""

    field_order = ["clinician"]
    summary_labels = {"patient_agreed": _("Patient's agreement")}

    patient_first_name = _model_field("patient_first_name", label=_("Patient's first name"))
    patient_last_name = _model_field("patient_last_name", label=_("Patient's last name"))
    patient_phone = PhoneNumberFormField(
        label=_("Patient's phone"),
        required=False,
        help_text=_("A phone number or an email is needed."),
        autocomplete="off",
    )
    patient_email = _model_field(
        "patient_email", label=_("Patient's email"), widget=forms.EmailInput(attrs={"autocomplete": "off"})
    )
    preferred_contact_time = _model_field(
        "preferred_contact_time",
        label=_("Best time to reach them"),
        widget=forms.TextInput(attrs={"placeholder": _("e.g. weekday mornings")}),
    )
    patient_date_of_birth = forms.DateField(
        label=_("Patient's date of birth (optional)"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date", "autocomplete": "off"}, format="%Y-%m-%d"),
        help_text=_("Helps the spa tell apart patients with the same name."),
    )
    reason_category = forms.ChoiceField(label=_("Reason for referral"))
    reason_text = _model_field(
        "reason_text", label=_("Anything the spa should know"), widget=forms.Textarea(attrs={"rows": 2})
    )
    services = forms.ModelMultipleChoiceField(
        label=_("Services you recommend"),
        queryset=Service.objects.none(),
        to_field_name="public_id",
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    precautions = _model_field(
        "precautions", label=_("Precautions / contraindications"), widget=forms.Textarea(attrs={"rows": 2})
    )
    clinician = forms.ModelChoiceField(
        label=_("Referring clinician"),
        queryset=Clinician.objects.none(),
        to_field_name="public_id",
        required=False,
        empty_label=_("Not named"),
    )
    patient_agreed = forms.BooleanField(
        error_messages={"required": _("Confirm that the patient agreed to be contacted before sending.")},
    )
    sharing_signed = forms.BooleanField(
        label=_("The patient signed our authorization to share outcomes (optional)"), required=False
    )
    sharing_signer_name = forms.CharField(label=_("Patient's name as signed"), max_length=160, required=False)
    signed_form = forms.FileField(
        label=_("Signed authorization form"),
        required=False,
        help_text=_("A PDF or an image, at most 10 MB."),
        widget=forms.FileInput(
            attrs={"accept": ",".join([*(f".{extension}" for extension in ATTACHMENT_EXTENSIONS), "application/pdf"])}
        ),
    )

    PATIENT_FIELDS = [
        "patient_first_name",
        "patient_last_name",
        "patient_phone",
        "patient_email",
        "preferred_contact_time",
        "patient_date_of_birth",
    ]
    DETAIL_FIELDS = ["reason_category", "reason_text", "precautions"]

    def __init__(self, *args, spa, practice, services, last_clinician=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["reason_category"].choices = [("", _("Choose a reason")), *reason_choices(practice.specialty)]
        self.fields["patient_phone"].region = spa.country
        self.fields["services"].queryset = active_items(Service, spa=spa).filter(
            pk__in=[service.pk for service in services]
        )
        self.fields["clinician"].queryset = Clinician.objects.filter(spa=spa, practice=practice)
        self.fields["clinician"].label_from_instance = lambda clinician: clinician.display_name
        if last_clinician is not None and last_clinician.practice_id == practice.pk:
            self.fields["clinician"].initial = last_clinician.public_id
        self.fields["patient_agreed"].label = _("The patient agreed to be contacted by %(spa)s") % {"spa": spa.name}
        self.service_options = services

    def clean_signed_form(self):
        upload = self.cleaned_data.get("signed_form")
        return attachment_check(upload) if upload else None

    def clean_patient_date_of_birth(self):
        born = self.cleaned_data.get("patient_date_of_birth")
        if born is None:
            return None
        if born > timezone.localdate():
            raise forms.ValidationError(_("The date of birth cannot be in the future."))
        if born < EARLIEST_BIRTH_DATE:
            raise forms.ValidationError(_("Check the year of birth."))
        return born

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("sharing_signed") and "signed_form" not in self.errors and not cleaned.get("signed_form"):
            self.add_error("signed_form", _("Upload the signed authorization form."))
        # Said with every other error, not in a second round after the rest is fixed. A number that was typed
        # but is not valid has its own error already.
        typed_phone = (self.data.get("patient_phone") or "").strip()
        typed_email = (self.data.get("patient_email") or "").strip()
        if not typed_phone and not typed_email:
            self.add_error("patient_phone", _("Give a phone number or an email so the spa can reach the patient."))
        return cleaned

    def sharing_authorization(self):
        """(signer name, signed form) when the clinic attests the patient signed the authorization, else None."""
        if not self.cleaned_data.get("sharing_signed"):
            return None
        signer = (self.cleaned_data.get("sharing_signer_name") or "").strip()
        if not signer:
            signer = f"{self.cleaned_data['patient_first_name']} {self.cleaned_data['patient_last_name']}".strip()
        return signer, self.cleaned_data["signed_form"]

    def patient(self):
        data = {name: self.cleaned_data[name] for name in self.PATIENT_FIELDS}
        data["preferred_contact_method"] = ContactMethod.PHONE if data["patient_phone"] else ContactMethod.EMAIL
        return data

    def details(self):
        return {name: self.cleaned_data[name] for name in self.DETAIL_FIELDS}


class PortalInformationForm(forms.Form):
    """What the clinic adds to a referral it sent: appended to the referral, the spa sees it."""

    text = forms.CharField(
        label=_("Add information for the spa"),
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("For example a new phone number, a precaution or a result that came in. The spa is told."),
        error_messages={"required": _("Write what you want to add first.")},
    )


class PortalWithdrawForm(forms.Form):
    reason = forms.CharField(
        label=_("Why are you withdrawing it? (optional)"),
        max_length=255,
        required=False,
        widget=forms.TextInput(attrs={"placeholder": _("e.g. sent by mistake, patient changed their mind")}),
    )
