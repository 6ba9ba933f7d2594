"""Forms for referrals that come in by hand or from the patient: manual entry by the spa's staff
(``ManualReferralForm``) and the patient's own form on the landing page (``LandingForm``).

Field names match the Referral model's, so a service's ValidationError lands beside the right field.
``ErrorSummaryMixin`` and ``EARLIEST_BIRTH_DATE`` are shared with the partner portal's referral form.
"""

import datetime
import uuid

from django import forms
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from infra.phones import PhoneNumberFormField
from partners.models import Clinician, Practice
from spas.catalog import active_items
from spas.models import Service, Specialty

from ..attachments import attachment_check
from ..models import (
    ATTACHMENT_EXTENSIONS,
    MANUAL_CHANNELS,
    OTHER_REASON,
    REASONS_BY_SPECIALTY,
    Channel,
    ConsentMethod,
    ContactMethod,
    Referral,
    reason_choices,
)

EARLIEST_BIRTH_DATE = datetime.date(1900, 1, 1)


class ErrorSummaryMixin:
    """``error_links()`` feeds the error summary at the top of a public form (portal/partials/error_summary.html):
    each field error with the id of the input it links to (a choice list's first option). ``summary_labels``
    shortens a long label (a consent sentence) to a few words there."""

    summary_labels = {}

    def error_links(self):
        links = []
        for field in self:
            if field.is_hidden or not field.errors:
                continue
            target = field.auto_id
            if isinstance(field.field.widget, forms.RadioSelect | forms.CheckboxSelectMultiple):
                target = f"{target}_0"
            label = self.summary_labels.get(field.name, field.label)
            links.extend((target, label, error) for error in field.errors)
        return links


def grouped_reason_choices():
    """Reasons grouped by specialty (what the form offers before a practice is chosen), "Other" last."""
    labels = dict(Specialty.choices)
    groups = [(labels[specialty], reasons) for specialty, reasons in REASONS_BY_SPECIALTY.items() if reasons]
    return [("", _("Choose a reason")), *groups, OTHER_REASON]


def _model_field(name, **kwargs):
    return Referral._meta.get_field(name).formfield(**kwargs)


class ManualReferralForm(forms.Form):
    """A referral taken by phone, fax, email or at the front desk, typed in by the spa's staff.

    The reason list narrows to the chosen practice's specialty and the clinician list to its
    clinicians; whether the pair really belongs together is checked again by the service.
    """

    channel = forms.ChoiceField(
        label=_("Arrived by"),
        choices=[(channel.value, channel.label) for channel in MANUAL_CHANNELS],
        initial=Channel.PHONE,
    )
    practice = forms.ModelChoiceField(
        label=_("Referring practice"), queryset=Practice.objects.none(), to_field_name="public_id"
    )
    clinician = forms.ModelChoiceField(
        label=_("Referring clinician"),
        queryset=Clinician.objects.none(),
        to_field_name="public_id",
        required=False,
        empty_label=_("Not named"),
    )
    patient_first_name = _model_field("patient_first_name", label=_("Patient's first name"))
    patient_last_name = _model_field("patient_last_name", label=_("Patient's last name"))
    patient_phone = PhoneNumberFormField(
        label=_("Phone"), required=False, help_text=_("A phone number or an email is needed."), autocomplete="off"
    )
    patient_email = _model_field(
        "patient_email", label=_("Email"), widget=forms.EmailInput(attrs={"autocomplete": "off"})
    )
    preferred_contact_method = _model_field("preferred_contact_method", label=_("Preferred contact method"))
    preferred_contact_time = _model_field("preferred_contact_time", label=_("Best time to reach them"))
    patient_date_of_birth = forms.DateField(
        label=_("Date of birth"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )
    reason_category = forms.ChoiceField(label=_("Reason for referral"), choices=grouped_reason_choices)
    reason_text = _model_field("reason_text", label=_("Details"), widget=forms.Textarea(attrs={"rows": 3}))
    services = forms.ModelMultipleChoiceField(
        label=_("Recommended services"),
        queryset=Service.objects.none(),
        to_field_name="public_id",
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    precautions = _model_field(
        "precautions", label=_("Precautions / contraindications"), widget=forms.Textarea(attrs={"rows": 2})
    )
    urgency = _model_field("urgency", label=_("Urgency"))
    attachment = forms.FileField(
        label=_("Attachment (optional)"),
        required=False,
        help_text=_("The referral form or a letter: a PDF or an image, at most 10 MB."),
        widget=forms.FileInput(
            attrs={"accept": ",".join([*(f".{extension}" for extension in ATTACHMENT_EXTENSIONS), "application/pdf"])}
        ),
    )
    consent_to_contact = forms.BooleanField(
        label=_("The patient agreed to be contacted by the spa"),
        error_messages={"required": _("Record the patient's consent to be contacted before saving the referral.")},
    )
    consent_method = forms.ChoiceField(
        label=_("How consent was given"),
        choices=[
            (method.value, method.label)
            for method in (ConsentMethod.VERBAL, ConsentMethod.WRITTEN, ConsentMethod.CLINIC_ATTESTATION)
        ],
        initial=ConsentMethod.VERBAL,
    )

    PATIENT_FIELDS = [
        "patient_first_name",
        "patient_last_name",
        "patient_phone",
        "patient_email",
        "preferred_contact_method",
        "preferred_contact_time",
        "patient_date_of_birth",
    ]
    DETAIL_FIELDS = ["reason_category", "reason_text", "precautions", "urgency"]

    def __init__(self, *args, spa, **kwargs):
        super().__init__(*args, **kwargs)
        self.spa = spa
        self.fields["patient_phone"].region = spa.country
        self.fields["practice"].queryset = Practice.objects.filter(spa=spa).order_by("name", "pk")
        # Choosing a practice redraws the clinician and reason menus for it (htmx); without JS the
        # grouped menus still work.
        self.fields["practice"].widget.attrs.update(
            {
                "hx-get": reverse("referrals:create_options", args=[spa.slug]),
                "hx-trigger": "change",
                "hx-target": "#practice-fields",
                "hx-swap": "outerHTML",
            }
        )
        self.fields["clinician"].queryset = Clinician.objects.filter(spa=spa).select_related("practice")
        self.fields["services"].queryset = active_items(Service, spa=spa).order_by("name", "pk")
        self.selected_practice = self._selected_practice()
        self._narrow_choices()

    def _selected_practice(self):
        value = self.data.get("practice") if self.is_bound else self.initial.get("practice")
        if isinstance(value, Practice):
            return value
        try:
            return self.fields["practice"].clean(value) if value else None
        except ValidationError:
            return None

    def _narrow_choices(self):
        """Offer what fits the chosen practice; the fields still accept any of the spa's values, so a
        mismatch reaches the service and is refused with its own message beside the field."""
        practice = self.selected_practice
        clinician_widget = self.fields["clinician"].widget
        reason_widget = self.fields["reason_category"].widget
        if practice is None:
            clinician_widget.choices = self._clinicians_by_practice()
            return
        clinician_widget.choices = [("", _("Not named"))] + [
            (str(clinician.public_id), clinician.display_name)
            for clinician in Clinician.objects.filter(spa=self.spa, practice=practice)
        ]
        reason_widget.choices = [("", _("Choose a reason")), *reason_choices(practice.specialty)]

    def _clinicians_by_practice(self):
        groups = {}
        for clinician in self.fields["clinician"].queryset.order_by("practice__name", "last_name", "first_name"):
            groups.setdefault(clinician.practice.name, []).append((str(clinician.public_id), clinician.display_name))
        return [("", _("Not named")), *groups.items()]

    def clean_patient_date_of_birth(self):
        born = self.cleaned_data.get("patient_date_of_birth")
        if born is None:
            return None
        if born > timezone.localdate():
            raise ValidationError(_("The date of birth cannot be in the future."))
        if born < EARLIEST_BIRTH_DATE:
            raise ValidationError(_("Check the year of birth."))
        return born

    def clean_attachment(self):
        upload = self.cleaned_data.get("attachment")
        return attachment_check(upload) if upload else None

    def patient(self):
        return {name: self.cleaned_data[name] for name in self.PATIENT_FIELDS}

    def details(self):
        return {name: self.cleaned_data[name] for name in self.DETAIL_FIELDS}

    @classmethod
    def initial_from_link(cls, *, spa, query):
        """The practice and clinician a link names (``?practice=<id>&clinician=<id>``, as on a practice's page).

        Only the spa's own: an id of another spa's practice or clinician, a clinician of another practice, or
        a malformed id is ignored. A clinician alone brings its practice."""
        initial = {}
        practice_ids = _uuids(query.get("practice"))
        practice = Practice.objects.filter(spa=spa, public_id__in=practice_ids).first() if practice_ids else None
        clinician_ids = _uuids(query.get("clinician"))
        clinician = (
            Clinician.objects.filter(spa=spa, public_id__in=clinician_ids).select_related("practice").first()
            if clinician_ids
            else None
        )
        if clinician is not None and practice is not None and clinician.practice_id != practice.pk:
            clinician = None
        if clinician is not None:
            initial["clinician"] = clinician
            practice = practice or clinician.practice
        if practice is not None:
            initial["practice"] = practice
        return initial


def _uuids(value):
    try:
        return [uuid.UUID(str(value))] if value else []
    except ValueError:
        return []


class LandingForm(ErrorSummaryMixin, forms.Form):
    """The patient's own short form on the landing page. ``homepage`` is a honeypot: people never see it."""

    summary_labels = {"consent_to_contact": _("Your agreement to be contacted"), "share_outcomes": _("Authorization")}

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
        # The phone fills these in for the patient.
        self.fields["patient_first_name"].widget.attrs["autocomplete"] = "given-name"
        self.fields["patient_last_name"].widget.attrs["autocomplete"] = "family-name"
        self.fields["patient_email"].widget.attrs["autocomplete"] = "email"
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
