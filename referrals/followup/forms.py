"""The patient's answer on the public follow-up page: a score, a comment, and the separate testimonial opt-in."""

from django import forms
from django.utils.translation import gettext_lazy as _

from ..intake.forms import ErrorSummaryMixin

SCORES = [(str(score), str(score)) for score in range(1, 6)]


class SatisfactionForm(ErrorSummaryMixin, forms.Form):
    summary_labels = {"score": _("Rating"), "share_testimonial": _("Testimonial")}

    score = forms.TypedChoiceField(
        label=_("How would you rate your visit? (1 = poor, 5 = excellent)"),
        choices=SCORES,
        coerce=int,
        widget=forms.RadioSelect,
        error_messages={
            "required": _("Choose a rating from 1 to 5."),
            "invalid_choice": _("Choose a rating from 1 to 5."),
        },
    )
    comment = forms.CharField(
        label=_("Anything you would like to tell us? (optional)"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_("Please leave out any health details."),
    )
    # Never pre-ticked; its label is the exact wording saved with the permission (set by the view).
    share_testimonial = forms.BooleanField(required=False, initial=False)

    def __init__(self, *args, testimonial_wording, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["share_testimonial"].label = testimonial_wording

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("share_testimonial") and not (cleaned.get("comment") or "").strip():
            self.add_error("comment", _("Write the comment you allow us to share, or untick the box."))
        return cleaned
