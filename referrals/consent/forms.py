"""The authorization a patient signed on paper, recorded from the referral's page."""

import datetime

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from ..attachments import attachment_check
from ..models import ATTACHMENT_EXTENSIONS


class AuthorizationPaperForm(forms.Form):
    """An authorization the patient signed on paper at the spa: the scan is the proof."""

    signer_name = forms.CharField(label=_("Signer's full name"), max_length=160)
    allows_outcome_sharing = forms.BooleanField(
        label=_("The patient allows sharing outcomes with the referring office"), required=False, initial=True
    )
    expires_on = forms.DateField(
        label=_("Ends on (optional)"),
        required=False,
        help_text=_("Leave empty for the spa's usual validity (Settings → Referral rules)."),
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    signed_form = forms.FileField(
        label=_("Signed form"),
        help_text=_("The scan or photo of the signed form: a PDF or an image, at most 10 MB."),
        error_messages={"required": _("Upload the signed authorization form.")},
        widget=forms.FileInput(
            attrs={"accept": ",".join([*(f".{extension}" for extension in ATTACHMENT_EXTENSIONS), "application/pdf"])}
        ),
    )

    def clean_signed_form(self):
        return attachment_check(self.cleaned_data["signed_form"])

    def expires_at(self):
        """The end of the chosen day on the current (spa's) clock, or None for the default."""
        day = self.cleaned_data.get("expires_on")
        if day is None:
            return None
        return timezone.make_aware(datetime.datetime.combine(day, datetime.time(23, 59, 59)))
