"""The owner's form for a new API key."""

from django import forms
from django.utils.translation import gettext_lazy as _

from partners.models import Practice


class ApiKeyCreateForm(forms.Form):
    practice = forms.ModelChoiceField(
        label=_("Practice"),
        queryset=Practice.objects.none(),
        to_field_name="public_id",
        help_text=_("Referrals sent with this key are recorded as coming from this practice."),
    )
    name = forms.CharField(
        label=_("Name"),
        max_length=80,
        help_text=_("Where the key is used, e.g. “Front desk EHR integration”."),
    )

    def __init__(self, *args, spa, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["practice"].queryset = Practice.objects.filter(spa=spa).order_by("name")
