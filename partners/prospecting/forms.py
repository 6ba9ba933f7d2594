"""The prospect search form: a specialty and an area (a ZIP code and a radius, or a city and state)."""

from django import forms
from django.utils.translation import gettext_lazy as _

from infra.geo import zip5, zip_centroid

from ..models import Stage
from .candidates import ProspectQuery
from .sources import MAX_RADIUS_KM
from .taxonomy import searchable_specialties

RADIUS_CHOICES = [(5, "5 km"), (10, "10 km"), (15, "15 km"), (25, "25 km"), (50, "50 km"), (MAX_RADIUS_KM, "100 km")]


class ProspectSearchForm(forms.Form):
    specialty = forms.ChoiceField(label=_("Specialty"), choices=searchable_specialties)
    postal_code = forms.CharField(
        label=_("ZIP code"), required=False, max_length=10, help_text=_("Search around a ZIP code …")
    )
    radius_km = forms.TypedChoiceField(
        label=_("Within"), choices=RADIUS_CHOICES, coerce=int, initial=15, required=False, empty_value=15
    )
    city = forms.CharField(label=_("City"), required=False, max_length=80, help_text=_("… or in a city"))
    state = forms.CharField(label=_("State"), required=False, max_length=2, help_text=_("Two letters, e.g. MA"))

    def clean_postal_code(self):
        value = self.cleaned_data["postal_code"].strip()
        if value and zip_centroid(value) is None:
            raise forms.ValidationError(_("We don't know the US ZIP code “%(zip)s”.") % {"zip": value[:10]})
        return zip5(value)

    def clean_state(self):
        value = self.cleaned_data["state"].strip().upper()
        if value and not (len(value) == 2 and value.isascii() and value.isalpha()):
            raise forms.ValidationError(_("Enter the state's two-letter code, e.g. MA."))
        return value

    def clean(self):
        cleaned = super().clean()
        if self.errors:
            return cleaned
        if not cleaned.get("postal_code") and not (cleaned.get("city", "").strip() and cleaned.get("state")):
            self.add_error("postal_code", _("Enter a ZIP code, or a city and its state."))
        return cleaned

    def query(self):
        data = self.cleaned_data
        return ProspectQuery(
            specialty=data["specialty"],
            postal_code=data["postal_code"],
            radius_km=data["radius_km"] if data["postal_code"] else 0,
            city=data["city"].strip(),
            state=data["state"],
        )


NEARBY_SHOW = {
    "all": None,
    "prospects": [Stage.PROSPECT, Stage.RESEARCHED],
    "partners": [Stage.CONTACTED, Stage.MEETING, Stage.TRIAL, Stage.ACTIVE],
}
