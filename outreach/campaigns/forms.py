"""Campaign forms: the campaign with its segment, and the formset of its steps.

Every choice that names a row (who gets the tasks, a tag, a city, a letter template) is limited to the
spa's own rows, so an id or name from another spa is refused as an invalid choice.
"""

from django import forms
from django.contrib.auth import get_user_model
from django.utils.translation import gettext_lazy as _

from partners.models import Stage
from partners.selectors import spa_cities, spa_tags
from spas.models import Specialty

from ..models import Campaign, LetterTemplate, TaskKind
from .services import DEFAULT_STEPS, MAX_DAYS_AFTER, MAX_STEPS

User = get_user_model()


def _with_blank(choices, label):
    return [("", label), *choices]


def _members(spa):
    return User.objects.filter(memberships__spa=spa, is_active=True).order_by("full_name", "email")


class CampaignDetailsForm(forms.ModelForm):
    """Name, goal and who gets the tasks: all a running campaign may still change."""

    class Meta:
        model = Campaign
        fields = ["name", "description", "owner"]
        labels = {"description": _("Goal"), "owner": _("Who gets the tasks")}
        help_texts = {
            "description": _(
                "What the campaign is for, e.g. “Introduce our oncology massage to every oncology practice”."
            ),
            "owner": _(
                "Empty: each practice's owner does its tasks (you, for practices without an owner). "
                "Changing it affects tasks created from now on."
            ),
        }
        widgets = {"description": forms.Textarea(attrs={"rows": 3})}

    def __init__(self, *args, spa, **kwargs):
        super().__init__(*args, **kwargs)
        owner = self.fields["owner"]
        owner.queryset = _members(spa)
        owner.empty_label = _("Each practice's owner")
        owner.label_from_instance = lambda user: user.display_name


class CampaignForm(CampaignDetailsForm):
    """A draft: details plus the segment that chooses its practices."""

    specialty = forms.ChoiceField(label=_("Specialty"), required=False)
    stage = forms.ChoiceField(label=_("Stage"), required=False)
    city = forms.ChoiceField(label=_("City"), required=False)
    tag = forms.ChoiceField(label=_("Tag"), required=False)

    SEGMENT_FIELDS = ("specialty", "stage", "city", "tag")

    def __init__(self, *args, spa, **kwargs):
        super().__init__(*args, spa=spa, **kwargs)
        self.fields["specialty"].choices = _with_blank(Specialty.choices, _("Any specialty"))
        self.fields["stage"].choices = _with_blank(Stage.choices, _("Any stage"))
        self.fields["city"].choices = _with_blank([(city, city) for city in spa_cities(spa=spa)], _("Any city"))
        self.fields["tag"].choices = _with_blank([(tag.name, tag.name) for tag in spa_tags(spa=spa)], _("Any tag"))
        if self.instance.pk and not self.is_bound:
            for name in self.SEGMENT_FIELDS:
                self.initial[name] = (self.instance.segment or {}).get(name, "")

    def segment(self):
        return {name: self.cleaned_data.get(name, "") for name in self.SEGMENT_FIELDS}

    def segment_fields(self):
        return [self[name] for name in self.SEGMENT_FIELDS]

    def detail_fields(self):
        return [self[name] for name in ("name", "description", "owner")]


class SegmentForm(forms.Form):
    """The segment alone, read from the query string of the live preview."""

    specialty = forms.ChoiceField(required=False)
    stage = forms.ChoiceField(required=False)
    city = forms.ChoiceField(required=False)
    tag = forms.ChoiceField(required=False)

    def __init__(self, *args, spa, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["specialty"].choices = _with_blank(Specialty.choices, "")
        self.fields["stage"].choices = _with_blank(Stage.choices, "")
        self.fields["city"].choices = _with_blank([(city, city) for city in spa_cities(spa=spa)], "")
        self.fields["tag"].choices = _with_blank([(tag.name, tag.name) for tag in spa_tags(spa=spa)], "")


class StepForm(forms.Form):
    # Not required: a row left without a step is skipped (a new blank row, say), unless it holds a title.
    kind = forms.ChoiceField(label=_("Step"), required=False)
    title = forms.CharField(label=_("Task title (optional)"), required=False, max_length=200)
    days_after_previous = forms.IntegerField(
        label=_("Days after the previous step"), min_value=0, max_value=MAX_DAYS_AFTER, initial=0, required=False
    )
    letter_template = forms.ModelChoiceField(
        label=_("Letter (letter steps only)"),
        queryset=LetterTemplate.objects.none(),
        to_field_name="public_id",
        required=False,
        empty_label=_("Choose a letter…"),
    )

    def __init__(self, *args, spa, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["kind"].choices = _with_blank(TaskKind.choices, _("Choose a step…"))
        self.fields["letter_template"].queryset = LetterTemplate.objects.filter(spa=spa).order_by("name", "pk")
        self.fields["days_after_previous"].widget.attrs.update({"inputmode": "numeric", "class": "campaign-days"})

    def clean(self):
        data = super().clean()
        if not data.get("kind"):
            if data.get("title") and "kind" not in self.errors:
                self.add_error("kind", _("Choose what to do in this step, or tick “Remove”."))
            return data
        if data.get("days_after_previous") is None and "days_after_previous" not in self.errors:
            self.add_error("days_after_previous", _("How many days after the previous step? (0 for the same day)"))
        if (
            data.get("kind") == TaskKind.LETTER
            and not data.get("letter_template")
            and "letter_template" not in self.errors
        ):
            self.add_error("letter_template", _("Choose the letter to send."))
        if data.get("kind") and data.get("kind") != TaskKind.LETTER:
            data["letter_template"] = None
        return data


class BaseStepFormSet(forms.BaseFormSet):
    def __init__(self, *args, spa, **kwargs):
        self.spa = spa
        super().__init__(*args, **kwargs)

    def get_form_kwargs(self, index):
        return {**super().get_form_kwargs(index), "spa": self.spa}

    def step_forms(self):
        """The rows that hold a step and are not ticked for removal, in order."""
        return [
            form
            for form in self.forms
            if not self._should_delete_form(form) and getattr(form, "cleaned_data", {}).get("kind")
        ]

    def steps(self):
        """The kept steps in order, as the service takes them."""
        return [
            {name: form.cleaned_data.get(name) for name in ("kind", "title", "days_after_previous", "letter_template")}
            for form in self.step_forms()
        ]

    def clean(self):
        if any(self.errors):
            return
        steps = self.steps()
        if not steps:
            raise forms.ValidationError(_("Add at least one step."), code="no_steps")
        if len(steps) > MAX_STEPS:
            raise forms.ValidationError(_("A campaign has at most %(count)s steps.") % {"count": MAX_STEPS})
        first = self.step_forms()[0]
        if first.cleaned_data.get("days_after_previous"):
            first.add_error("days_after_previous", _("The first step happens at launch: 0 days."))
            raise forms.ValidationError(_("The first step happens at launch: set its days to 0."), code="first_step")


StepFormSet = forms.formset_factory(
    StepForm, formset=BaseStepFormSet, extra=0, can_delete=True, max_num=MAX_STEPS, absolute_max=MAX_STEPS + 5
)
STEP_PREFIX = "steps"


def step_formset(*, spa, data=None, campaign=None, steps=None, add_row=False):
    """The steps formset: bound to ``data``, or showing the campaign's steps (the default sequence when new).

    ``add_row`` re-shows what was entered (unvalidated) with one blank step more.
    """
    if data is not None and not add_row:
        return StepFormSet(data, spa=spa, prefix=STEP_PREFIX)
    if add_row:
        bound = StepFormSet(data, spa=spa, prefix=STEP_PREFIX)
        initial = []
        for form in bound.forms:
            if form[forms.formsets.DELETION_FIELD_NAME].value():
                continue
            row = {name: form[name].value() for name in ("kind", "title", "days_after_previous", "letter_template")}
            initial.append(row)
        initial.append({"kind": "", "title": "", "days_after_previous": 0 if not initial else 7})
        initial = initial[:MAX_STEPS]
    elif steps is not None:
        initial = steps
    elif campaign is not None and campaign.pk:
        initial = [
            {
                "kind": step.kind,
                "title": step.title,
                "days_after_previous": step.days_after_previous,
                "letter_template": step.letter_template.public_id if step.letter_template_id else None,
            }
            for step in campaign.steps.select_related("letter_template").order_by("position")
        ]
    else:
        # The default sequence, its letter step on the spa's first letter (changeable, of course).
        first_letter = LetterTemplate.objects.filter(spa=spa).order_by("name", "pk").first()
        initial = [
            {
                **step,
                "title": str(step["title"]),
                "letter_template": first_letter.public_id if first_letter and step["kind"] == TaskKind.LETTER else None,
            }
            for step in DEFAULT_STEPS
        ]
    formset = StepFormSet(spa=spa, prefix=STEP_PREFIX, initial=initial)
    return formset
