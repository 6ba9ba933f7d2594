"""Forms for touchpoints, tasks and the spa's outreach rhythm. Choices of practices, people and members are
always the spa's own: an id from elsewhere is "not a valid choice", never used."""

import datetime

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from infra.forms import PastDateConfirmationMixin, UUIDListField
from partners.models import Clinician, OfficeContact, Practice
from spas.models import User

from ..models import OutreachSettings, Task, TaskKind, TaskSource, TouchpointKind, TouchpointOutcome
from .services import BULK_LIMIT

DATE_INPUT = forms.DateInput(attrs={"type": "date"})


def _members(spa):
    return User.objects.filter(memberships__spa=spa, is_active=True).order_by("full_name", "email")


class MemberChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, user):
        return user.display_name


class PersonChoiceField(forms.ModelMultipleChoiceField):
    def label_from_instance(self, person):
        return getattr(person, "display_name", None) or person.name


class TouchpointForm(PastDateConfirmationMixin, forms.Form):
    """Quick-log from a practice's page. The touchpoint has happened, so its date is in the past; the next step's
    follow-up date (which becomes a task) is confirmed when it is."""

    past_date_fields = ("next_step_on",)

    kind = forms.ChoiceField(label=_("What happened"), choices=TouchpointKind.choices)
    occurred_on = forms.DateField(label=_("Date"), widget=DATE_INPUT)
    outcome = forms.ChoiceField(label=_("Outcome"), choices=[("", _("—")), *TouchpointOutcome.choices], required=False)
    clinicians = PersonChoiceField(
        label=_("Clinicians"), queryset=Clinician.objects.none(), required=False, widget=forms.CheckboxSelectMultiple
    )
    contacts = PersonChoiceField(
        label=_("Office contacts"),
        queryset=OfficeContact.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    notes = forms.CharField(label=_("Notes"), max_length=4000, required=False, widget=forms.Textarea(attrs={"rows": 2}))
    next_step = forms.CharField(label=_("Next step"), max_length=255, required=False)
    next_step_on = forms.DateField(
        label=_("Follow up on"),
        required=False,
        widget=DATE_INPUT,
        help_text=_("With a next step and a date, a follow-up task is added for you."),
    )

    def __init__(self, *args, practice, today, **kwargs):
        super().__init__(*args, **kwargs)
        self.practice = practice
        self.fields["clinicians"].queryset = Clinician.objects.filter(spa=practice.spa, practice=practice)
        self.fields["contacts"].queryset = OfficeContact.objects.filter(spa=practice.spa, practice=practice)
        self.fields["occurred_on"].initial = today
        self.fields["occurred_on"].widget.attrs["max"] = (today + datetime.timedelta(days=1)).isoformat()
        self.today = today

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("next_step_on") and not cleaned.get("next_step"):
            self.add_error("next_step", _("Say what the next step is."))
        return cleaned


class TaskForm(PastDateConfirmationMixin, forms.ModelForm):
    """A task's own page. A due date in the past needs the "record it anyway" tick, when it is set or changed
    (editing the title of an overdue task asks nothing)."""

    past_date_fields = ("due_on",)
    practice = forms.ModelChoiceField(
        label=_("Practice"), queryset=Practice.objects.none(), required=False, to_field_name="public_id"
    )
    assignee = MemberChoiceField(label=_("Assigned to"), queryset=User.objects.none(), required=False)

    class Meta:
        model = Task
        fields = ["title", "kind", "due_on", "assignee", "practice", "notes"]
        widgets = {"due_on": DATE_INPUT, "notes": forms.Textarea(attrs={"rows": 3})}

    def __init__(self, *args, spa, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["practice"].queryset = Practice.objects.filter(spa=spa).order_by("name")
        self.fields["assignee"].queryset = _members(spa)
        self.fields["assignee"].empty_label = _("Nobody yet")
        self.fields["practice"].empty_label = _("No practice")

    def clean(self):
        if self.instance.pk and "due_on" not in self.changed_data:
            self.past_date_fields = ()
        return super().clean()


class QuickTaskForm(PastDateConfirmationMixin, forms.Form):
    """The one-line "add a task" at the top of My day: for me, due today unless a date is given."""

    past_date_fields = ("due_on",)

    title = forms.CharField(label=_("New task"), max_length=200)
    due_on = forms.DateField(label=_("Due"), required=False, widget=DATE_INPUT)


class TaskSelectionForm(forms.Form):
    """The tasks ticked for a bulk action (mark done, or its Undo)."""

    task = UUIDListField(
        error_messages={
            "required": _("Tick the tasks to mark done first."),
            "invalid": _("Choose tasks from the list."),
        }
    )

    def clean_task(self):
        ids = self.cleaned_data["task"]
        if len(ids) > BULK_LIMIT:
            raise ValidationError(_("Choose at most %(limit)d tasks at once.") % {"limit": BULK_LIMIT}, code="too_many")
        return ids


class SnoozeForm(forms.Form):
    """Snooze a task to tomorrow or to next week (the dates come from the spa's calendar, not the browser)."""

    until = forms.ChoiceField(
        label=_("Snooze until"),
        choices=[("tomorrow", _("Tomorrow")), ("next_week", _("Next week"))],
        error_messages={
            "required": _("Choose when the task comes back."),
            "invalid_choice": _("Choose tomorrow or next week."),
        },
    )


class SnoozeUndoForm(forms.Form):
    """A snooze's Undo: the due date the task had."""

    due_on = forms.DateField()


class TaskFilterForm(forms.Form):
    STATES = [("open", _("Open")), ("done", _("Done")), ("all", _("All"))]

    state = forms.ChoiceField(label=_("Show"), choices=STATES, required=False)
    assignee = forms.ChoiceField(label=_("Assigned to"), required=False)
    # Practices are searched by name rather than listed: a spa may have thousands.
    practice_name = forms.CharField(
        label=_("Practice"),
        max_length=160,
        required=False,
        widget=forms.TextInput(attrs={"type": "search", "placeholder": _("Any")}),
    )
    kind = forms.ChoiceField(label=_("Kind"), choices=[("", _("Any")), *TaskKind.choices], required=False)
    source = forms.ChoiceField(label=_("From"), choices=[("", _("Anywhere")), *TaskSource.choices], required=False)

    def __init__(self, *args, spa, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.members = {str(member.pk): member for member in _members(spa)}
        self.fields["assignee"].choices = [
            ("", _("Anyone")),
            ("me", _("Me")),
            ("nobody", _("Nobody")),
            *[(key, member.display_name) for key, member in self.members.items()],
        ]
        self.user = user

    def filter(self, tasks):
        if not self.is_valid():
            return tasks.filter(done_at=None)
        data = self.cleaned_data
        state = data.get("state") or "open"
        if state == "open":
            tasks = tasks.filter(done_at=None)
        elif state == "done":
            tasks = tasks.filter(done_at__isnull=False).order_by("-done_at", "-id")
        assignee = data.get("assignee")
        if assignee == "me":
            tasks = tasks.filter(assignee=self.user)
        elif assignee == "nobody":
            tasks = tasks.filter(assignee=None)
        elif assignee:
            tasks = tasks.filter(assignee=self.members[assignee])
        if data.get("practice_name"):
            tasks = tasks.filter(practice__name__icontains=data["practice_name"])
        if data.get("kind"):
            tasks = tasks.filter(kind=data["kind"])
        if data.get("source"):
            tasks = tasks.filter(source=data["source"])
        return tasks


class OutreachSettingsForm(forms.ModelForm):
    class Meta:
        model = OutreachSettings
        fields = ["check_in_cadence_days", "resurface_after_months", "digest_hour"]
        help_texts = {
            "check_in_cadence_days": _("91 days is a quarter. Each partner's page can set its own."),
            "resurface_after_months": _("With what has changed at the spa since they said no."),
            "digest_hour": _("Each member gets one email a day listing their overdue tasks and those due today."),
        }
