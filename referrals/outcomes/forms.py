"""The outcome report form: catalog services, sessions, free text, and the specialty's measures."""

from django import forms
from django.utils.translation import gettext_lazy as _

from spas.catalog import active_items
from spas.models import Service

from .measures import CHOICE, measure_template_for

MEASURE_PREFIX = "measure_"


class OutcomeReportForm(forms.Form):
    services = forms.MultipleChoiceField(
        label=_("Services provided"), required=False, widget=forms.CheckboxSelectMultiple
    )
    sessions = forms.IntegerField(label=_("Number of sessions"), min_value=1, max_value=200, initial=1)
    observations = forms.CharField(label=_("Observations"), max_length=4000, required=False, widget=forms.Textarea)
    recommendations = forms.CharField(
        label=_("Recommendations and next steps"), max_length=4000, required=False, widget=forms.Textarea
    )

    def __init__(self, *args, spa, specialty, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["services"].choices = [
            (str(service.public_id), service.name) for service in active_items(Service, spa=spa).order_by("name")
        ]
        self.measure_keys = []
        for key, label, kind, choices in measure_template_for(specialty):
            name = MEASURE_PREFIX + key
            self.measure_keys.append(key)
            if kind == CHOICE:
                self.fields[name] = forms.ChoiceField(
                    label=label, required=False, choices=[("", _("Not reported")), *choices]
                )
            else:
                self.fields[name] = forms.IntegerField(label=label, required=False, min_value=0, max_value=10)

    @classmethod
    def initial_from(cls, report):
        if report is None:
            return {}
        initial = {
            "services": report.services,
            "sessions": report.sessions,
            "observations": report.observations,
            "recommendations": report.recommendations,
        }
        initial.update({MEASURE_PREFIX + key: value for key, value in report.measures.items()})
        return initial

    def measures(self):
        return {key: self.cleaned_data.get(MEASURE_PREFIX + key) for key in self.measure_keys}
