from django import forms
from django.utils.translation import gettext_lazy as _

from partners.models import Practice, Stage
from spas.models import Specialty

from ..models import LetterTemplate


class LetterTemplateForm(forms.ModelForm):
    class Meta:
        model = LetterTemplate
        fields = ["name", "body"]
        widgets = {"body": forms.Textarea(attrs={"rows": 16, "spellcheck": "true"})}


def _with_blank(choices, label):
    return [("", label), *choices]


class PracticeFilterForm(forms.Form):
    """Which practices a batch of letters goes to (GET filters)."""

    specialty = forms.ChoiceField(label=_("Specialty"), required=False)
    stage = forms.ChoiceField(label=_("Stage"), required=False)
    city = forms.CharField(label=_("City"), required=False, max_length=80)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["specialty"].choices = _with_blank(Specialty.choices, _("Any specialty"))
        self.fields["stage"].choices = _with_blank(Stage.choices, _("Any stage"))


class LetterSendForm(forms.Form):
    template = forms.ModelChoiceField(label=_("Letter"), queryset=LetterTemplate.objects.none(), empty_label=None)
    practices = forms.ModelMultipleChoiceField(
        label=_("Practices"),
        queryset=Practice.objects.none(),
        to_field_name="public_id",
        widget=forms.CheckboxSelectMultiple,
        error_messages={"required": _("Choose at least one practice.")},
    )

    def __init__(self, *args, spa, practices, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["template"].queryset = LetterTemplate.objects.filter(spa=spa)
        self.fields["template"].to_field_name = "public_id"
        self.fields["practices"].queryset = practices
        self.fields["practices"].label_from_instance = lambda practice: (
            f"{practice.name} · {practice.get_specialty_display()}" + (f" · {practice.city}" if practice.city else "")
        )


class LeaveBehindForm(forms.Form):
    specialty = forms.ChoiceField(label=_("Specialty"), choices=Specialty.choices)
    practice = forms.ModelChoiceField(
        label=_("Personalize for a practice (optional)"),
        queryset=Practice.objects.none(),
        to_field_name="public_id",
        required=False,
        empty_label=_("No practice: a general leave-behind"),
    )
    paper = forms.ChoiceField(
        label=_("Paper"), choices=[("letter", _("Letter")), ("a4", _("A4"))], initial="letter", required=False
    )

    def __init__(self, *args, spa, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["practice"].queryset = Practice.objects.filter(spa=spa).order_by("name")

    def clean_paper(self):
        return self.cleaned_data.get("paper") or "letter"
