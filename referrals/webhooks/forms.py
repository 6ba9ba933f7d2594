"""The owners' forms for an endpoint. They read input only; the rules (the address guard, the events, the
practice being the spa's) are the services', whose refusals appear beside the field they name."""

from django import forms
from django.utils.translation import gettext_lazy as _

from partners.models import Practice

from .models import EventType


class WebhookEndpointEditForm(forms.Form):
    url = forms.CharField(
        label=_("Endpoint URL"),
        max_length=500,
        widget=forms.URLInput(attrs={"placeholder": "https://ehr.example.com/hooks/spa-referrals"}),
        help_text=_("An https:// address on the receiving system. We post each event there as JSON."),
    )
    description = forms.CharField(
        label=_("Description"),
        max_length=120,
        required=False,
        help_text=_("What receives it, e.g. “Glow Dermatology's EHR”."),
    )
    events = forms.MultipleChoiceField(
        label=_("Events"),
        choices=EventType.choices,
        widget=forms.CheckboxSelectMultiple,
        error_messages={"required": _("Choose at least one event.")},
    )


class WebhookEndpointCreateForm(WebhookEndpointEditForm):
    practice = forms.ModelChoiceField(
        label=_("Whose system is it?"),
        queryset=Practice.objects.none(),
        to_field_name="public_id",
        required=False,
        empty_label=_("The spa's own system: every referral, ids and status only"),
        help_text=_(
            "A practice's system hears only about that practice's referrals, and gets the patient's name and date "
            "of birth while the patient's authorization to share with that practice is valid."
        ),
    )
    field_order = ["url", "description", "practice", "events"]

    def __init__(self, *args, spa, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["practice"].queryset = Practice.objects.filter(spa=spa).order_by("name")
        if not self.is_bound:
            self.initial.setdefault("events", EventType.values)
