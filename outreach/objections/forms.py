"""Forms of the objection library: a prepared response, logging an objection, the summary's list filters.

Every choice of a row (practice, response, touchpoint) comes from a queryset filtered by the spa, so an id of
another spa's row is refused as an invalid choice, never used.
"""

from django import forms
from django.urls import reverse
from django.utils.formats import date_format
from django.utils.translation import gettext_lazy as _

from partners.models import Practice

from ..models import ObjectionCategory, ObjectionLog, ObjectionResponse, Touchpoint
from .selectors import active_responses

# One objection form per page: the same ids everywhere, so the response menu can be redrawn alone.
LOG_FORM_AUTO_ID = "objection_%s"


class ObjectionResponseForm(forms.ModelForm):
    class Meta:
        model = ObjectionResponse
        fields = ["category", "objection", "response"]
        widgets = {
            "objection": forms.TextInput(attrs={"placeholder": _("e.g. “We're too busy to take on anything new.”")}),
            "response": forms.Textarea(attrs={"rows": 8, "spellcheck": "true"}),
        }
        help_texts = {
            "objection": _("The concern as practices put it, in their words."),
            "response": _("What to say: short, factual, in the spa's professional voice."),
        }


def _grouped_response_choices(responses, category):
    labels = dict(ObjectionCategory.choices)
    empty = [("", _("No prepared response"))]
    if category:
        return empty + [(str(response.public_id), response.objection) for response in responses]
    groups = {}
    for response in responses:
        groups.setdefault(response.category, []).append((str(response.public_id), response.objection))
    return empty + [(labels[value], groups[value]) for value in ObjectionCategory.values if value in groups]


class ObjectionLogForm(forms.Form):
    """Log an objection. On the library page the practice is chosen; on a practice's page it is fixed and
    the touchpoint it came up in may be named."""

    practice = forms.ModelChoiceField(
        label=_("Practice"), queryset=Practice.objects.none(), to_field_name="public_id", empty_label=_("Choose…")
    )
    category = forms.ChoiceField(label=_("Objection"), choices=[("", _("Choose…")), *ObjectionCategory.choices])
    raised = forms.CharField(
        label=_("What was said"),
        max_length=500,
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    response = forms.ModelChoiceField(
        label=_("Response used"),
        queryset=ObjectionResponse.objects.none(),
        to_field_name="public_id",
        required=False,
        help_text=_("From the library; the list follows the objection chosen."),
    )
    outcome = forms.ChoiceField(label=_("Outcome"), choices=[("", _("Choose…")), *ObjectionLog.Outcome.choices])
    raised_on = forms.DateField(label=_("Date"), widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"))
    touchpoint = forms.ModelChoiceField(
        label=_("Raised during (optional)"),
        queryset=Touchpoint.objects.none(),
        to_field_name="public_id",
        required=False,
        empty_label=_("Not linked to a touchpoint"),
        help_text=_("The call or meeting it came up in, logged in the practice's activity."),
    )
    notes = forms.CharField(label=_("Notes"), max_length=2000, required=False, widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(self, *args, spa, today, practice=None, touchpoints=None, responses=None, **kwargs):
        """``touchpoints`` and ``responses`` (the spa's active ones), when already read, fill the menus."""
        kwargs.setdefault("auto_id", LOG_FORM_AUTO_ID)
        kwargs.setdefault("initial", {})
        kwargs["initial"].setdefault("raised_on", today)
        super().__init__(*args, **kwargs)
        self.fixed_practice = practice
        if practice is None:
            self.fields["practice"].queryset = Practice.objects.filter(spa=spa).order_by("name", "id")
            del self.fields["touchpoint"]
        else:
            del self.fields["practice"]
            self.fields["touchpoint"].queryset = Touchpoint.objects.filter(spa=spa, practice=practice)
            if touchpoints is not None:
                # The recent ones, already read for the menu; any of the practice's touchpoints is accepted.
                self.fields["touchpoint"].choices = [("", self.fields["touchpoint"].empty_label)] + [
                    (
                        str(touchpoint.public_id),
                        f"{touchpoint.get_kind_display()} · {date_format(touchpoint.occurred_on)}",
                    )
                    for touchpoint in touchpoints
                ]
        # Choosing the objection redraws the response menu with that category's responses only (htmx).
        self.fields["category"].widget.attrs.update(
            {
                "hx-get": reverse("outreach:objection_response_options", args=[spa.slug]),
                "hx-target": "#objection-response-field",
                "hx-swap": "innerHTML",
                "hx-trigger": "change",
                "hx-include": "this",
            }
        )
        category = self._chosen_category()
        self.fields["response"].queryset = active_responses(spa=spa)
        if responses is None:
            responses = list(active_responses(spa=spa))
        self.fields["response"].widget.choices = _grouped_response_choices(
            [response for response in responses if not category or response.category == category], category
        )

    def _chosen_category(self):
        value = self.data.get("category") if self.is_bound else self.initial.get("category")
        return value if value in ObjectionCategory.values else ""

    def clean(self):
        cleaned = super().clean()
        response, category = cleaned.get("response"), cleaned.get("category")
        if response is not None and category and response.category != category:
            self.add_error(
                "response",
                _("Choose a response from the “%(category)s” category.")
                % {"category": dict(ObjectionCategory.choices)[category]},
            )
        return cleaned

    @property
    def chosen_practice(self):
        return self.fixed_practice or self.cleaned_data.get("practice")


class ObjectionListFilter(forms.Form):
    """The summary's list of logged objections: narrowed by category and outcome (GET)."""

    category = forms.ChoiceField(
        label=_("Objection"), required=False, choices=[("", _("Any objection")), *ObjectionCategory.choices]
    )
    outcome = forms.ChoiceField(
        label=_("Outcome"), required=False, choices=[("", _("Any outcome")), *ObjectionLog.Outcome.choices]
    )
    practice = forms.UUIDField(required=False, widget=forms.HiddenInput)

    def value(self, name):
        return self.cleaned_data.get(name) if self.is_valid() else None
