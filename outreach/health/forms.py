"""Forms of the partner-health area: a practice's check-in cadence, the health list's filters."""

from django import forms
from django.utils.translation import gettext_lazy as _

from .selectors import HealthStatus

CADENCE_RANGE_MESSAGE = _("Choose a number of days between 7 and 365.")


class CheckInCadenceForm(forms.Form):
    cadence_days = forms.IntegerField(
        label=_("Check in every (days)"),
        required=False,
        min_value=7,
        max_value=365,
        error_messages={
            "min_value": CADENCE_RANGE_MESSAGE,
            "max_value": CADENCE_RANGE_MESSAGE,
            "invalid": CADENCE_RANGE_MESSAGE,
        },
        widget=forms.NumberInput(attrs={"min": 7, "max": 365, "step": 1, "inputmode": "numeric"}),
    )

    def __init__(self, *args, default_days, **kwargs):
        kwargs.setdefault("auto_id", "health_%s")
        super().__init__(*args, **kwargs)
        self.fields["cadence_days"].help_text = _(
            "From 7 to 365 days. Leave empty for the spa's default, every %(days)s days."
        ) % {"days": default_days}
        self.fields["cadence_days"].widget.attrs["placeholder"] = str(default_days)


class HealthFilterForm(forms.Form):
    """The health list's GET filters; an unknown value is simply ignored."""

    status = forms.ChoiceField(label=_("Status"), required=False, choices=[("", _("All")), *HealthStatus.choices])
    mine = forms.BooleanField(label=_("Only practices I own"), required=False)
