"""Forms of the gift ledger: recording (and correcting) a gift, the ledger's filters, a year's limit.

Forms only read and shape input; the rules (cash refused, the limit, who may override) live in
outreach/gifts/services.py and come back as errors beside the field they concern.
"""

import re
from decimal import Decimal

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from partners.models import Clinician, Practice

from ..models import CASH_EQUIVALENT_KINDS, GiftKind
from . import selectors, services

AMOUNT = re.compile(r"^(?:\d+(?:\.\d*)?|\.\d+)$")
THOUSANDS = re.compile(r"^\d{1,3}(?:,\d{3})+(?:\.\d*)?$")


class MoneyField(forms.Field):
    """Dollars and cents as a Decimal: "45", "45.5", "$1,200.00" are read; "1e9", "-5", "abc", three
    decimals or more than six figures are refused with a message that says what to type."""

    def __init__(self, *, minimum=Decimal("0.01"), **kwargs):
        self.minimum = minimum
        kwargs.setdefault(
            "widget",
            forms.TextInput(
                attrs={"inputmode": "decimal", "autocomplete": "off", "placeholder": "0.00", "maxlength": "20"}
            ),
        )
        super().__init__(**kwargs)

    def to_python(self, value):
        text = "" if value in self.empty_values else str(value).strip().replace(" ", "")[:40]
        if not text:
            return None
        if text.startswith("-") or text.startswith("−"):
            raise ValidationError(_("Enter a positive amount."), code="negative")
        text = text.removeprefix("$").removeprefix("US$")
        if THOUSANDS.match(text):
            text = text.replace(",", "")
        if not AMOUNT.match(text):
            raise ValidationError(_("Enter an amount in dollars and cents, for example 45.00."), code="invalid")
        amount = Decimal(text)
        if amount > services.MAX_AMOUNT:
            raise ValidationError(
                _("Enter an amount up to %(max)s.") % {"max": selectors.money(services.MAX_AMOUNT)},
                code="too_large",
            )
        if amount != amount.quantize(Decimal("0.01")):
            raise ValidationError(_("Use at most two decimals (dollars and cents)."), code="decimals")
        if amount < self.minimum:
            if self.minimum > 0:
                raise ValidationError(_("Enter an amount above $0.00."), code="too_small")
            raise ValidationError(_("Enter a positive amount."), code="negative")
        return amount.quantize(Decimal("0.01"))


def kind_choices():
    """The kinds a gift can be, and, listed apart, the ones that are never allowed (so choosing one
    explains why rather than leaving people to wonder where gift cards went)."""
    allowed = [(value, label) for value, label in GiftKind.choices if value not in CASH_EQUIVALENT_KINDS]
    refused = [(value, label) for value, label in GiftKind.choices if value in CASH_EQUIVALENT_KINDS]
    return [("", _("Choose…")), (_("Allowed"), allowed), (_("Never allowed"), refused)]


def person_label(person, *, with_practice=False):
    if isinstance(person, Clinician):
        text = f"{person.display_name} — {_('clinician')}"
    else:
        text = f"{person.name} — {person.get_role_display().lower()}"
    return f"{text} ({person.practice.name})" if with_practice else text


def practice_from(spa, value):
    """The spa's practice a posted or queried public id names, or None."""
    if not value:
        return None
    try:
        return Practice.objects.filter(spa=spa, public_id=value).first()
    except ValidationError:
        return None


class GiftForm(forms.Form):
    practice = forms.ModelChoiceField(
        label=_("Practice"),
        queryset=Practice.objects.none(),
        to_field_name="public_id",
        empty_label=_("Choose a practice"),
        error_messages={"invalid_choice": _("Choose a practice from the list.")},
    )
    recipient = forms.CharField(
        label=_("Given to"),
        help_text=_("One person per entry. For a meal shared by several people, record each person's share."),
        widget=forms.Select,
    )
    given_on = forms.DateField(label=_("Date given"), widget=forms.DateInput(attrs={"type": "date"}))
    kind = forms.ChoiceField(label=_("Kind"), choices=kind_choices)
    description = forms.CharField(
        label=_("What was given"),
        max_length=255,
        widget=forms.TextInput(attrs={"placeholder": _("e.g. Lunch at the practice, one person's share")}),
    )
    fair_market_value = MoneyField(
        label=_("Fair market value (US$)"),
        help_text=_("What it would cost to buy: a service's retail price, a meal's cost per person."),
    )
    override_reason = forms.CharField(
        label=_("Reason for going over the limit (owners only)"),
        required=False,
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("Only needed when this gift takes the person past the year's limit; it is kept with the entry."),
    )

    def __init__(self, *args, spa, can_override, **kwargs):
        super().__init__(*args, **kwargs)
        self.spa = spa
        self.fields["practice"].queryset = Practice.objects.filter(spa=spa).order_by("name", "pk")
        if not can_override:
            del self.fields["override_reason"]
        self.selected_practice = practice_from(
            spa, self.data.get("practice") if self.is_bound else self._initial_practice()
        )
        self.fields["recipient"].widget.choices = self.recipient_choices()

    def _initial_practice(self):
        value = self.initial.get("practice")
        return getattr(value, "public_id", value)

    def recipient_choices(self):
        """The chosen practice's people; before a practice is chosen, everyone grouped by practice."""
        groups = selectors.gift_people(spa=self.spa, practice=self.selected_practice)
        self.has_people = bool(groups)
        if self.selected_practice is not None:
            people = groups[0][1] if groups else []
            if not people:
                return [("", _("No clinicians or office contacts at this practice yet"))]
            return [
                ("", _("Choose a person")),
                *[(selectors.recipient_key(person), person_label(person)) for person in people],
            ]
        return [
            ("", _("Choose a practice first, or a person")),
            *[
                (practice.name, [(selectors.recipient_key(person), person_label(person)) for person in people])
                for practice, people in groups
            ],
        ]

    def clean_kind(self):
        # Said at once, even when other fields need fixing too (the service refuses it as well).
        kind = self.cleaned_data["kind"]
        if kind in CASH_EQUIVALENT_KINDS:
            raise ValidationError(services.CASH_REFUSAL)
        return kind

    def clean_recipient(self):
        person = selectors.recipient_from_key(spa=self.spa, key=self.cleaned_data["recipient"])
        if person is None:
            raise ValidationError(_("Choose the clinician or staff member who received it."))
        return person

    def service_values(self):
        data = self.cleaned_data
        return {
            "practice": data["practice"],
            "recipient": data["recipient"],
            "given_on": data["given_on"],
            "kind": data["kind"],
            "description": data["description"],
            "fair_market_value": data["fair_market_value"],
            "override_reason": data.get("override_reason", ""),
        }


class GiftCorrectForm(GiftForm):
    correction_reason = forms.CharField(
        label=_("Why is this entry corrected?"),
        max_length=300,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("Kept in the audit trail with what the entry said before."),
    )


class GiftDeleteForm(forms.Form):
    reason = forms.CharField(
        label=_("Why is this entry removed?"),
        max_length=300,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("For example “Recorded twice”. Kept in the audit trail with the entry's details."),
    )


class GiftFilterForm(forms.Form):
    """The ledger's filters (GET). A value that is not valid is ignored and shown as an error."""

    year = forms.TypedChoiceField(label=_("Year"), coerce=int)
    practice = forms.ModelChoiceField(
        label=_("Practice"),
        queryset=Practice.objects.none(),
        to_field_name="public_id",
        required=False,
        empty_label=_("All practices"),
    )
    recipient = forms.ChoiceField(label=_("Recipient"), required=False)

    def __init__(self, *args, spa, years, recipients, **kwargs):
        super().__init__(*args, **kwargs)
        self.spa = spa
        self.fields["year"].choices = [(year, str(year)) for year in years]
        self.fields["practice"].queryset = Practice.objects.filter(spa=spa).order_by("name", "pk")
        self.fields["recipient"].choices = [
            ("", _("Everyone")),
            *[(selectors.recipient_key(person), person_label(person, with_practice=True)) for person in recipients],
        ]

    def clean_recipient(self):
        key = self.cleaned_data["recipient"]
        return selectors.recipient_from_key(spa=self.spa, key=key) if key else None


class GiftDateForm(forms.Form):
    given_on = forms.DateField(required=False)


class YearChoiceForm(forms.Form):
    year = forms.TypedChoiceField(label=_("Year"), coerce=int)

    def __init__(self, *args, years, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["year"].choices = [(year, str(year)) for year in years]


class GiftLimitForm(forms.Form):
    limit = MoneyField(
        label=_("Limit per recipient for the year (US$)"),
        minimum=Decimal("0"),
        help_text=_(
            "The Stark non-monetary compensation limit CMS publishes each year, or a lower figure your spa "
            "holds itself to. $0.00 means every gift needs an owner's override."
        ),
    )
