"""Forms of the patient-rights page: which referrals are this patient's, and the erasure confirmation."""

from django import forms
from django.utils.translation import gettext_lazy as _

from .selectors import MatchReason
from .services import ErasureRequestChannel


class PatientSelectionForm(forms.Form):
    """The referrals to export or erase, chosen among the matches shown (the page's own referral always)."""

    referrals = forms.MultipleChoiceField(
        label=_("Referrals of this patient"),
        widget=forms.CheckboxSelectMultiple,
        # The page's own referral is always included (its box is ticked and disabled), so none is needed.
        required=False,
        error_messages={"invalid_choice": _("Choose among the referrals listed here.")},
    )

    def __init__(self, *args, matches, **kwargs):
        super().__init__(*args, **kwargs)
        self.matches = matches
        self.fields["referrals"].choices = [(str(referral.public_id), str(referral)) for referral, _reason in matches]
        self.fields["referrals"].initial = [
            str(referral.public_id) for referral, reason in matches if reason in MatchReason.CONFIDENT
        ]

    def clean_referrals(self):
        chosen = set(self.cleaned_data["referrals"])
        # The referral the page is about is always included: the request is about this patient.
        anchor = self.matches[0][0]
        chosen.add(str(anchor.public_id))
        return [referral for referral, _reason in self.matches if str(referral.public_id) in chosen]

    def rows(self):
        """(referral, reason label, checked) for the table, keeping the posted choice on a refused submit."""
        checked = set(self.data.getlist("referrals")) if self.is_bound else set(self.fields["referrals"].initial)
        checked.add(str(self.matches[0][0].public_id))
        return [
            (referral, MatchReason.LABELS[reason], str(referral.public_id) in checked)
            for referral, reason in self.matches
        ]


class PatientEraseForm(PatientSelectionForm):
    request_channel = forms.ChoiceField(
        label=_("How the patient asked"),
        choices=[("", _("Choose…")), *ErasureRequestChannel.CHOICES],
        error_messages={"required": _("Say how the patient asked to be erased.")},
    )
    confirm = forms.BooleanField(
        label=_("I understand this cannot be undone"),
        error_messages={"required": _("Tick the box to confirm: erasing cannot be undone.")},
    )
