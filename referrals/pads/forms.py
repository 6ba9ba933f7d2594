"""The "Referral pad" form on a practice's page: paper size, number of pages, whose pad."""

from django import forms
from django.utils.translation import gettext_lazy as _

from partners.models import Clinician, Practice, Stage

from .documents import MAX_PAGES, MIN_PAGES


class ReferralPadForm(forms.Form):
    paper = forms.ChoiceField(
        label=_("Paper size"), choices=[("letter", _("US Letter")), ("a4", _("A4"))], initial="letter"
    )
    pages = forms.IntegerField(
        label=_("Pages to print"),
        min_value=MIN_PAGES,
        max_value=MAX_PAGES,
        initial=1,
        help_text=_("Four tear-off slips per page; at most %(max)s pages.") % {"max": MAX_PAGES},
    )
    clinician = forms.ModelChoiceField(
        label=_("Whose pad"),
        queryset=Clinician.objects.none(),
        to_field_name="public_id",
        required=False,
        empty_label=_("The whole practice"),
        help_text=_("A clinician's pad carries their own code, so referrals are credited to them."),
    )

    def __init__(self, *args, practice, **kwargs):
        super().__init__(*args, **kwargs)
        # Only this practice's clinicians: another practice's (or spa's) id is "not a valid choice".
        self.fields["clinician"].queryset = Clinician.objects.filter(spa=practice.spa, practice=practice)


# Pads are handed out by practices that refer; others get theirs from their own page.
PAD_STAGES = [Stage.MEETING, Stage.TRIAL, Stage.ACTIVE]


class PadPracticeChoiceForm(forms.Form):
    practice = forms.ModelChoiceField(
        label=_("Practice"),
        queryset=Practice.objects.none(),
        to_field_name="public_id",
        empty_label=_("Choose a practice…"),
        help_text=_(
            "Practices at the meeting, trial or active partner stage. Any practice's page can make its pad too."
        ),
    )

    def __init__(self, *args, spa, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["practice"].queryset = Practice.objects.filter(spa=spa, stage__in=PAD_STAGES).order_by("name")
