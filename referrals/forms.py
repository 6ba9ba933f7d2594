"""Spa-side referral forms: the inbox filters and bulk actions, the lifecycle actions, the referral settings."""

import uuid

import django_filters
from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _
from django_scopes import scopes_disabled

from infra.forms import PastDateConfirmationMixin, UUIDListField
from partners.models import Practice
from spas.catalog import active_items
from spas.models import Service, Specialty, User

from .models import (
    OPEN_STATUSES,
    ArchiveReason,
    Channel,
    Referral,
    ReferralEvent,
    ReferralSettings,
    Status,
    appointment_after_receipt,
)
from .selectors import overdue_condition

OPEN = "open"


def _members_of(spa):
    return User.objects.filter(memberships__spa=spa).order_by("full_name", "email")


# django-scopes: a FilterSet on a scoped model must be declared with scopes disabled,
# because declaring it evaluates querysets at import time. The view passes a spa-filtered queryset.
with scopes_disabled():

    class ReferralFilter(django_filters.FilterSet):
        status = django_filters.ChoiceFilter(
            label=_("Status"),
            choices=[(OPEN, _("Open")), *Status.choices],
            empty_label=_("Any"),
            method="filter_status",
        )
        practice = django_filters.ModelChoiceFilter(
            label=_("Practice"), queryset=Practice.objects.none(), to_field_name="public_id", empty_label=_("Any")
        )
        specialty = django_filters.ChoiceFilter(
            label=_("Specialty"), field_name="practice__specialty", choices=Specialty.choices, empty_label=_("Any")
        )
        # Practices are found by name: a menu of every practice weighed 490 KB on a spa with 5,000 of them.
        # ``practice`` (by id, hidden) stays for links that name one practice.
        practice_name = django_filters.CharFilter(
            label=_("Practice name"), field_name="practice__name", lookup_expr="icontains", max_length=160
        )
        channel = django_filters.ChoiceFilter(label=_("Channel"), choices=Channel.choices, empty_label=_("Any"))
        overdue = django_filters.BooleanFilter(
            label=_("First contact"),
            method="filter_overdue",
            widget=forms.Select(choices=[("", _("Any")), ("true", _("Overdue")), ("false", _("Not overdue"))]),
        )
        assignee = django_filters.ModelChoiceFilter(
            label=_("Assignee"), queryset=User.objects.none(), empty_label=_("Any"), null_label=_("Nobody")
        )
        archived = django_filters.BooleanFilter(label=_("Archived"), method="filter_archived")

        class Meta:
            model = Referral
            fields = ["status", "practice", "practice_name", "specialty", "channel", "overdue", "assignee", "archived"]

        def __init__(self, *args, spa, **kwargs):
            super().__init__(*args, **kwargs)
            self.filters["practice"].queryset = Practice.objects.filter(spa=spa).order_by("name", "pk")
            self.filters["assignee"].queryset = _members_of(spa)
            # (self.form is built on first use: only after the querysets above are in place.)
            self.form.fields["practice"].widget = forms.HiddenInput()
            # Archived referrals are reached by a link beside the tabs; the choice travels with the filters.
            self.form.fields["archived"].widget = forms.HiddenInput()
            self.form.fields["practice_name"].widget.attrs.update({"type": "search", "placeholder": _("Any")})
            self.form.fields["assignee"].label_from_instance = lambda user: user.display_name

        def filter_status(self, queryset, name, value):
            if value == OPEN:
                return queryset.filter(status__in=OPEN_STATUSES)
            return queryset.filter(status=value)

        def filter_overdue(self, queryset, name, value):
            if value is None:
                return queryset
            return queryset.filter(overdue_condition()) if value else queryset.exclude(overdue_condition())

        def filter_archived(self, queryset, name, value):
            return queryset  # see _archive_view: leaving archived referrals out is what an empty choice means

        def _archive_view(self, queryset):
            archived = self.is_bound and self.form.is_valid() and self.form.cleaned_data.get("archived") is True
            return queryset.filter(archived_at__isnull=not archived)

        def filter_queryset(self, queryset):
            return self._archive_view(super().filter_queryset(queryset))

        @property
        def qs(self):
            if not self.is_bound:  # an unbound FilterSet filters nothing, but archived referrals stay out
                return self._archive_view(self.queryset.all())
            return super().qs

        def queryset_without(self, *names):
            """The inbox filtered by everything except ``names`` (the status tabs count across statuses)."""
            queryset = self._archive_view(self.queryset.all())
            if not self.is_bound or not self.form.is_valid():
                return queryset
            for name, value in self.form.cleaned_data.items():
                if name not in names:
                    queryset = self.filters[name].filter(queryset, value)
            return queryset


BULK_LIMIT = 100


class ReferralBulkForm(forms.Form):
    """The inbox's bulk actions on the ticked referrals."""

    ACTIONS = [
        ("assign_me", _("Assign to me")),
        ("assign", _("Assign to…")),
        ("mark_read", _("Mark read")),
        ("archive_test", _("Archive as test referrals")),
        ("archive_spam", _("Archive as spam")),
        ("restore", _("Restore to the inbox")),
    ]

    action = forms.ChoiceField(choices=ACTIONS, error_messages={"required": _("Choose what to do first.")})
    referral = UUIDListField(
        error_messages={"required": _("Tick the referrals first."), "invalid": _("Choose referrals from the list.")}
    )
    assignee = forms.ModelChoiceField(
        label=_("Assign to"), queryset=User.objects.none(), required=False, empty_label=_("Choose a person")
    )

    def __init__(self, *args, spa, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["assignee"].queryset = _members_of(spa)
        self.fields["assignee"].label_from_instance = lambda user: user.display_name
        self.fields["assignee"].widget.attrs.update({"class": "form-select form-select-sm"})

    def clean_referral(self):
        ids = self.cleaned_data["referral"]
        if len(ids) > BULK_LIMIT:
            raise ValidationError(
                _("Choose at most %(limit)d referrals at once.") % {"limit": BULK_LIMIT}, code="too_many"
            )
        return list(dict.fromkeys(ids))

    def clean(self):
        data = super().clean()
        if data.get("action") == "assign" and not data.get("assignee"):
            self.add_error("assignee", _("Choose who to assign them to."))
        return data

    @property
    def archive_reason(self):
        return {"archive_test": ArchiveReason.TEST, "archive_spam": ArchiveReason.SPAM}.get(self.cleaned_data["action"])


class ReferralBulkUndoForm(forms.Form):
    """What a bulk action's Undo (in the toast) sends back: the action and the referrals it changed; for an
    assignment, each referral with who had it before ("<uuid>:<user id>", empty for nobody)."""

    action = forms.ChoiceField(choices=[("assign", "assign"), ("mark_read", "mark_read"), ("archive", "archive")])
    referral = UUIDListField(required=False, error_messages={"invalid": _("Choose referrals from the list.")})
    previous = forms.CharField(required=False, widget=forms.MultipleHiddenInput)

    def clean(self):
        data = super().clean()
        pairs = []
        for item in self.data.getlist("previous") if hasattr(self.data, "getlist") else []:
            referral_id, _sep, user_id = item.partition(":")
            try:
                pairs.append((uuid.UUID(referral_id), int(user_id) if user_id else None))
            except ValueError:
                raise ValidationError(_("This Undo link is damaged."), code="invalid") from None
        data["pairs"] = pairs[:BULK_LIMIT]
        data["referral"] = (data.get("referral") or [])[:BULK_LIMIT]
        if not data["pairs"] and not data["referral"]:
            raise ValidationError(_("Nothing to undo."), code="empty")
        return data


# --- lifecycle actions ------------------------------------------------------------------------------


class ReferralActionForm(forms.Form):
    """Every action posts the version the user was looking at; the service refuses a stale one."""

    version = forms.IntegerField(widget=forms.HiddenInput, min_value=1)

    def __init__(self, *args, referral=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.referral = referral


class TransitionForm(ReferralActionForm):
    to_status = None

    def transition_kwargs(self):
        return {"to_status": self.to_status, "expected_version": self.cleaned_data["version"]}


class AcceptForm(TransitionForm):
    to_status = Status.ACCEPTED


class DeclineForm(TransitionForm):
    to_status = Status.DECLINED
    # Required by the service, which says why; the browser hint avoids a round trip.
    reason = forms.CharField(
        label=_("Why is it declined?"), max_length=255, required=False, widget=forms.TextInput(attrs={"required": True})
    )

    def transition_kwargs(self):
        return {**super().transition_kwargs(), "reason": self.cleaned_data["reason"]}


class ScheduleForm(PastDateConfirmationMixin, TransitionForm):
    """Booking (or moving) the appointment. It cannot come before the referral was received; a time already
    past needs the "record it anyway" tick, when it is set or changed (changing only the service asks nothing)."""

    to_status = Status.SCHEDULED
    past_date_fields = ("scheduled_for",)
    scheduled_for = forms.DateTimeField(
        label=_("Appointment (date and time)"),
        required=False,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local", "required": True}, format="%Y-%m-%dT%H:%M"),
    )
    service = forms.ModelChoiceField(
        label=_("Service"),
        queryset=Service.objects.none(),
        to_field_name="public_id",
        required=False,
        empty_label=_("Not decided yet"),
    )

    def __init__(self, *args, referral=None, **kwargs):
        super().__init__(*args, referral=referral, **kwargs)
        if referral is not None:
            self.fields["service"].queryset = active_items(Service, spa=referral.spa).order_by("name", "pk")
            if not self.is_bound and referral.scheduled_for:
                # Rescheduling starts from the current booking.
                self.initial.setdefault("scheduled_for", referral.scheduled_for)
                self.initial.setdefault("service", referral.scheduled_service)

    def clean_scheduled_for(self):
        scheduled_for = self.cleaned_data.get("scheduled_for")
        if scheduled_for is not None and self.referral is not None:
            # Said here, not only by the service, so it comes before (and instead of) "in the past — confirm?".
            try:
                appointment_after_receipt(self.referral, scheduled_for)
            except ValidationError as error:
                raise ValidationError(error.message_dict["scheduled_for"]) from error
        return scheduled_for

    def clean(self):
        booked = self.referral.scheduled_for if self.referral is not None else None
        if booked is not None and self.cleaned_data.get("scheduled_for") == booked:
            self.past_date_fields = ()  # the booking keeps its time: nothing new to confirm
        return super().clean()

    def transition_kwargs(self):
        return {
            **super().transition_kwargs(),
            "scheduled_for": self.cleaned_data["scheduled_for"],
            "service": self.cleaned_data["service"],
        }


class CompleteForm(TransitionForm):
    to_status = Status.COMPLETED


class NoShowForm(TransitionForm):
    to_status = Status.NO_SHOW


class CancelForm(TransitionForm):
    to_status = Status.CANCELLED
    reason = forms.CharField(label=_("Reason (optional)"), max_length=255, required=False)

    def transition_kwargs(self):
        return {**super().transition_kwargs(), "reason": self.cleaned_data["reason"]}


class AttemptForm(ReferralActionForm):
    outcome = forms.ChoiceField(
        label=_("What happened?"),
        choices=[("", _("Choose…")), *ReferralEvent.Outcome.choices],
        required=False,
        help_text=_(
            "No answer, a voicemail or a wrong number count toward unreachable. A sent message does not: it sets "
            "a reminder to follow up."
        ),
    )
    note = forms.CharField(
        label=_("Note (optional)"), max_length=2000, required=False, widget=forms.Textarea(attrs={"rows": 2})
    )


class AssignForm(ReferralActionForm):
    assignee = forms.ModelChoiceField(
        label=_("Assigned to"), queryset=User.objects.none(), required=False, empty_label=_("Nobody")
    )

    def __init__(self, *args, referral=None, **kwargs):
        super().__init__(*args, referral=referral, **kwargs)
        if referral is not None:
            self.fields["assignee"].queryset = _members_of(referral.spa)
            self.fields["assignee"].label_from_instance = lambda user: user.display_name
            if not self.is_bound:
                self.initial.setdefault("assignee", referral.assignee_id)


class NoteForm(forms.Form):
    """Notes only add to the timeline and change nothing else, so they need no version check."""

    note = forms.CharField(
        label=_("Internal note"),
        max_length=2000,
        required=False,
        help_text=_("Seen by your team only, never by the referring practice."),
        widget=forms.Textarea(attrs={"rows": 2}),
    )

    def __init__(self, *args, referral=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.referral = referral


class ReferralSettingsForm(forms.ModelForm):
    class Meta:
        model = ReferralSettings
        fields = [
            "first_contact_business_days",
            "unreachable_after_attempts",
            "message_follow_up_business_days",
            "authorization_validity_months",
            "health_retention_months",
        ]
        help_texts = {
            "first_contact_business_days": _("Applies to referrals received from now on."),
            "unreachable_after_attempts": _(
                "Only failed attempts count: no answer, left a voicemail, wrong number. A message sent and "
                "awaiting a reply does not count, and once the patient is reached the count stops."
            ),
            "message_follow_up_business_days": _(
                "After you log a text or email sent and awaiting a reply, the referral comes back to My day for a "
                "follow-up this many business days later, unless you reach the patient first."
            ),
            "authorization_validity_months": _(
                "A patient's authorization to share outcomes ends this long after signing, unless they choose a "
                "date. Authorizations already signed keep their end date."
            ),
            "health_retention_months": _(
                "Leave empty to keep it. When set, every night the patient's details, notes, signed forms and "
                "outcome report text of referrals closed longer ago than this are erased for good; the counts "
                "and dates stay for your reports."
            ),
        }
