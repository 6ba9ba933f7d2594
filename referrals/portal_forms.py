"""Forms for the partner portal (the quick referral form), the spa's portal panel and the patient landing page.

Field names match the Referral model's, so a service's ValidationError lands beside the right field.
"""

from django import forms
from django.utils.translation import gettext_lazy as _

from infra.phones import PhoneNumberFormField
from partners.models import Clinician
from spas.catalog import active_items
from spas.models import Service

from .attachments import attachment_check
from .models import ATTACHMENT_EXTENSIONS, ContactMethod, Referral, reason_choices


def _model_field(name, **kwargs):
    return Referral._meta.get_field(name).formfield(**kwargs)


class PortalInvitationForm(forms.Form):
    email = forms.EmailField(
        label=_("Email of the clinic staff member"),
        max_length=254,
        widget=forms.EmailInput(attrs={"autocomplete": "off"}),
    )


class PortalReferralForm(forms.Form):
    """What a clinic's front desk fills in: only the essentials are required."""

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
    ]
    DETAIL_FIELDS = ["reason_category", "reason_text", "precautions"]

    def __init__(self, *args, spa, practice, services, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["reason_category"].choices = [("", _("Choose a reason")), *reason_choices(practice.specialty)]
        self.fields["patient_phone"].region = spa.country
        self.fields["services"].queryset = active_items(Service, spa=spa).filter(
            pk__in=[service.pk for service in services]
        )
        self.fields["clinician"].queryset = Clinician.objects.filter(spa=spa, practice=practice)
        self.fields["clinician"].label_from_instance = lambda clinician: clinician.display_name
        self.fields["patient_agreed"].label = _("The patient agreed to be contacted by %(spa)s") % {"spa": spa.name}
        self.service_options = services

    def clean_signed_form(self):
        upload = self.cleaned_data.get("signed_form")
        return attachment_check(upload) if upload else None

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("sharing_signed") and "signed_form" not in self.errors and not cleaned.get("signed_form"):
            self.add_error("signed_form", _("Upload the signed authorization form."))
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


class LandingForm(forms.Form):
    """The patient's own short form on the landing page. ``homepage`` is a honeypot: people never see it."""

    patient_first_name = _model_field("patient_first_name", label=_("First name"))
    patient_last_name = _model_field("patient_last_name", label=_("Last name"))
    patient_phone = PhoneNumberFormField(label=_("Phone"), required=False)
    patient_email = _model_field(
        "patient_email", label=_("Email"), widget=forms.EmailInput(attrs={"autocomplete": "email"})
    )
    preferred_contact_method = forms.ChoiceField(
        label=_("How should we contact you?"),
        choices=ContactMethod.choices,
        initial=ContactMethod.PHONE,
        widget=forms.RadioSelect,
        help_text=_("We use the phone number or email you gave above."),
    )
    preferred_contact_time = _model_field(
        "preferred_contact_time",
        label=_("Best time to reach you"),
        widget=forms.TextInput(attrs={"placeholder": _("e.g. weekday evenings")}),
    )
    reason_category = forms.ChoiceField(label=_("What would you like help with? (optional)"), required=False)
    consent_to_contact = forms.BooleanField(
        error_messages={"required": _("Tick the box so we may contact you about your referral.")},
    )
    share_outcomes = forms.BooleanField(
        label=_("I sign the authorization above: the spa may tell my referring provider how my visits went."),
        required=False,
    )
    sharing_signer_name = forms.CharField(
        label=_("Your full name, as your signature"),
        max_length=160,
        required=False,
        widget=forms.TextInput(attrs={"autocomplete": "name"}),
    )
    homepage = forms.CharField(
        label=_("Leave this field empty"),
        required=False,
        widget=forms.TextInput(attrs={"autocomplete": "off", "tabindex": "-1"}),
    )

    PATIENT_FIELDS = [
        "patient_first_name",
        "patient_last_name",
        "patient_phone",
        "patient_email",
        "preferred_contact_method",
        "preferred_contact_time",
    ]

    def __init__(self, *args, spa, practice, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["reason_category"].choices = [("", _("Choose if you like")), *reason_choices(practice.specialty)]
        self.fields["patient_phone"].region = spa.country
        self.fields["consent_to_contact"].label = _(
            "I agree that %(spa)s may contact me about this referral by the phone or email I gave."
        ) % {"spa": spa.name}

    @property
    def is_spam(self):
        """A bot filled in the field people cannot see."""
        return bool((self.data.get("homepage") or "").strip())

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("share_outcomes") and not (cleaned.get("sharing_signer_name") or "").strip():
            self.add_error("sharing_signer_name", _("Type your full name to sign the authorization."))
        return cleaned

    def patient(self):
        return {name: self.cleaned_data[name] for name in self.PATIENT_FIELDS}

    def details(self):
        return {"reason_category": self.cleaned_data["reason_category"] or "other"}

    def sharing_signature(self):
        """The typed signature when the patient signed the authorization to share outcomes, else ""."""
        if not self.cleaned_data.get("share_outcomes"):
            return ""
        return self.cleaned_data["sharing_signer_name"].strip()
