"""Forms of the events pages: the event itself, inviting practices (and named people), one invitee's RSVP,
attendance and person, and the filters of the practices to invite.

Practices, clinicians and contacts are looked up among the spa's own, so an id of another spa's row (or of
someone at another practice) is refused beside the field, never used.
"""

from django import forms
from django.utils.translation import gettext_lazy as _

from infra.forms import PastDateConfirmationMixin
from partners.models import Practice, Stage
from spas.models import Specialty

from ..models import Event, EventInvitee

DATETIME_LOCAL = "%Y-%m-%dT%H:%M"
CLINICIAN, CONTACT = "clinician", "contact"
ATTENDED_CHOICES = [("", _("Not recorded")), ("yes", _("Attended")), ("no", _("Didn't attend"))]


def person_value(person):
    """How a person travels in a form: "clinician:<uuid>" or "contact:<uuid>" ("" for the practice itself)."""
    if person is None:
        return ""
    kind = CLINICIAN if person._meta.model_name == "clinician" else CONTACT
    return f"{kind}:{person.public_id}"


def person_choices(clinicians, contacts, *, empty_label):
    choices = [("", empty_label)]
    if clinicians:
        choices.append((_("Clinicians"), [(person_value(person), person.display_name) for person in clinicians]))
    if contacts:
        choices.append(
            (
                _("Office contacts"),
                [(person_value(person), f"{person.name} ({person.get_role_display()})") for person in contacts],
            )
        )
    return choices


def resolve_person(value, clinicians, contacts):
    """The clinician or contact a posted value names among those given, None for "", or raise KeyError."""
    if not value:
        return None
    return {person_value(person): person for person in [*clinicians, *contacts]}[value]


class EventForm(PastDateConfirmationMixin, forms.ModelForm):
    """An event's own form. A time already past (an event logged after the fact, or a typo in the year) needs the
    "record it anyway" tick, when it is set or changed (editing the notes of a past event asks nothing)."""

    past_date_fields = ("starts_at",)
    starts_at = forms.DateTimeField(
        label=_("Date and time"),
        input_formats=[DATETIME_LOCAL, "%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S"],
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format=DATETIME_LOCAL),
    )

    class Meta:
        model = Event
        fields = ["kind", "title", "starts_at", "location", "notes"]
        widgets = {
            "title": forms.TextInput(attrs={"placeholder": _("e.g. Lunch presentation at Glow Dermatology")}),
            "notes": forms.Textarea(attrs={"rows": 4}),
        }
        help_texts = {
            "location": _("A lunch presentation is usually at the practice's office; an open house at the spa."),
            "notes": _("What you will present, who brings lunch, dietary needs… (no patient information)."),
        }

    def __init__(self, *args, spa, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["kind"].choices = Event.Kind.choices
        self.fields["starts_at"].help_text = _("In the spa's time zone (%(zone)s).") % {"zone": spa.timezone}
        if spa.address:
            self.fields["location"].widget.attrs["placeholder"] = spa.address

    def clean(self):
        if self.instance.pk and "starts_at" not in self.changed_data:
            self.past_date_fields = ()
        return super().clean()


class InviteFilterForm(forms.Form):
    """Which practices the invite page lists (GET)."""

    q = forms.CharField(label=_("Search"), required=False, max_length=100)
    specialty = forms.ChoiceField(label=_("Specialty"), required=False)
    stage = forms.ChoiceField(label=_("Stage"), required=False)
    city = forms.ChoiceField(label=_("City"), required=False)

    def __init__(self, *args, cities, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["q"].widget.attrs.update({"placeholder": _("Practice or clinician name"), "type": "search"})
        self.fields["specialty"].choices = [("", _("Any specialty")), *Specialty.choices]
        self.fields["stage"].choices = [("", _("Any stage")), *Stage.choices]
        self.fields["city"].choices = [("", _("Any city")), *[(city, city) for city in cities]]

    def value(self, name):
        return self.cleaned_data.get(name) if self.is_valid() else ""


class InviteForm(forms.Form):
    """Practices to invite, each with an optional named person posted as ``person_<practice id>``."""

    practices = forms.ModelMultipleChoiceField(
        label=_("Practices"),
        queryset=Practice.objects.none(),
        to_field_name="public_id",
        widget=forms.CheckboxSelectMultiple,
        error_messages={"required": _("Choose at least one practice to invite.")},
    )

    def __init__(self, *args, spa, people, **kwargs):
        """``people``: {practice id: (clinicians, contacts)} of the spa's practices that may be chosen."""
        super().__init__(*args, **kwargs)
        self.fields["practices"].queryset = Practice.objects.filter(spa=spa).order_by("name", "id")
        self.people = people

    def clean(self):
        cleaned = super().clean()
        invitations, unknown = [], []
        for practice in cleaned.get("practices") or []:
            clinicians, contacts = self.people.get(practice.pk, ([], []))
            value = self.data.get(f"person_{practice.public_id}", "")
            try:
                invitations.append((practice, resolve_person(value, clinicians, contacts)))
            except KeyError:
                unknown.append(practice.name)
        if unknown:
            self.add_error(
                "practices",
                _("Choose someone who works at the practice, or no one, for: %(names)s.")
                % {"names": ", ".join(unknown)},
            )
        cleaned["invitations"] = invitations
        return cleaned


class InviteeForm(forms.Form):
    """One invitee's row: RSVP, attendance and the person named. Fields not posted stay as they are."""

    rsvp = forms.ChoiceField(label=_("RSVP"), choices=EventInvitee.Rsvp.choices, required=False)
    attended = forms.ChoiceField(label=_("Attendance"), choices=ATTENDED_CHOICES, required=False)
    person = forms.ChoiceField(label=_("Person"), required=False)

    def __init__(self, *args, invitee, clinicians, contacts, post_url="", **kwargs):
        kwargs.setdefault("auto_id", f"invitee-{invitee.public_id}_%s")
        kwargs.setdefault(
            "initial",
            {
                "rsvp": invitee.rsvp,
                "attended": {True: "yes", False: "no"}.get(invitee.attended, ""),
                "person": person_value(invitee.person),
            },
        )
        super().__init__(*args, **kwargs)
        self.invitee = invitee
        self.clinicians, self.contacts = clinicians, contacts
        self.fields["person"].choices = person_choices(
            clinicians, contacts, empty_label=_("The practice (no one named)")
        )
        # In the event's list each menu saves its row on change (htmx); without scripts, the row's form does.
        names = {"practice": invitee.practice.name}
        labels = {
            "rsvp": _("RSVP of %(practice)s") % names,
            "attended": _("Attendance of %(practice)s") % names,
            "person": _("Person invited from %(practice)s") % names,
        }
        for name, field in self.fields.items():
            field.widget.attrs["form"] = f"invitee-form-{invitee.public_id}"
            field.widget.attrs["aria-label"] = labels[name]
            if post_url:
                field.widget.attrs.update(
                    {
                        "hx-post": post_url,
                        "hx-trigger": "change",
                        # The answer is all out of band: the row, the counts and the follow-ups panel.
                        "hx-swap": "none",
                        "class": "form-select-sm",
                    }
                )

    def changes(self):
        """The service's keyword arguments for what was posted."""
        changes = {}
        if "rsvp" in self.data and self.cleaned_data["rsvp"]:
            changes["rsvp"] = self.cleaned_data["rsvp"]
        if "attended" in self.data:
            changes["attended"] = {"yes": True, "no": False}.get(self.cleaned_data["attended"])
        if "person" in self.data:
            changes["person"] = resolve_person(self.cleaned_data["person"], self.clinicians, self.contacts)
        return changes
