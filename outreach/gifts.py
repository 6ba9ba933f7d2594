"""The gift ledger: what the spa gives clinicians and office staff, kept within the yearly limit.

Rules (services below; views only call them):

- Each recipient's gifts are added up per calendar year of the date given (``given_on`` is a date on
  the spa's calendar, so Dec 31 and Jan 1 fall in different years wherever the spa is).
- The year's limit is the spa's own figure for that year if it set one (``GiftLimit``), else the figure
  CMS published (``PUBLISHED_GIFT_LIMITS``), else the latest figure known before that year, shown as
  provisional ("not yet published for 2027; using 2026's $535.00").
- Cash and cash equivalents (gift cards, vouchers) are refused with the reason: the non-monetary
  compensation exception never covers them.
- A gift that brings the recipient's year to 80% of the limit is recorded with a warning; one that
  would take it past 100% is refused unless an owner records it with a reason (the override is kept:
  who, when, why, and audited).
- Two gifts for the same person recorded at the same moment cannot both slip under the limit: the
  recipient's row is locked (``select_for_update``) before the year is added up.
- Recording a gift logs a "gift" touchpoint at the practice with the recipient as participant.
- Entries are never edited in place. An owner removes an entry recorded by mistake, with a reason, or
  corrects it (the entry is replaced and the new values pass the limit check again); the audit trail
  keeps a snapshot of what was removed and why, and the gift's touchpoint is removed with it.

Nothing here reacts to referrals, and nothing anywhere suggests a gift because a referral arrived.
"""

import datetime
from dataclasses import dataclass, field
from decimal import ROUND_DOWN, Decimal, InvalidOperation

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Count, Q, Sum
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from partners.models import Clinician, OfficeContact
from spas.models import Membership, Role
from spas.services import audit_record

from .activity.selectors import spa_today
from .activity.services import touchpoint_delete, touchpoint_log
from .models import (
    CASH_EQUIVALENT_KINDS,
    GIFT_WARNING_SHARE,
    PUBLISHED_GIFT_LIMITS,
    Gift,
    GiftKind,
    GiftLimit,
    Touchpoint,
    TouchpointKind,
)

EARLIEST_YEAR = 2000
LATEST_YEAR = 2100
MAX_AMOUNT = Decimal("999999.99")  # the model's max_digits=8, decimal_places=2

CASH_REFUSAL = gettext_lazy(
    "Cash and cash equivalents (gift cards, vouchers, prepaid cards) are never allowed for referral sources: "
    "the exception for non-monetary compensation does not cover them. Give an item, a meal, a complimentary "
    "service or event hospitality instead."
)


def money(amount):
    """$1,234.50: how amounts are written in messages and on pages."""
    return f"${Decimal(amount):,.2f}"


# --- the yearly limit ------------------------------------------------------------------------------


@dataclass(frozen=True)
class YearLimit:
    """The limit per recipient that applies to one calendar year, and where the figure comes from.

    ``source``: "spa" (the spa set it), "published" (CMS's figure) or "carried" (no figure for the year
    yet: ``from_year``'s figure is used until one is set).
    """

    year: int
    amount: Decimal
    source: str
    from_year: int | None = None
    from_spa: bool = False

    @property
    def is_provisional(self):
        return self.source == "carried"

    @property
    def note(self):
        if self.source == "spa":
            return _("%(year)s limit set by your spa: %(amount)s per recipient.") % {
                "year": self.year,
                "amount": money(self.amount),
            }
        if self.source == "published":
            return _("%(year)s limit published by CMS: %(amount)s per recipient.") % {
                "year": self.year,
                "amount": money(self.amount),
            }
        values = {"year": self.year, "from_year": self.from_year, "amount": money(self.amount)}
        if self.from_year is not None and self.from_year > self.year:
            return (
                _("No limit is known for %(year)s; using %(from_year)s's %(amount)s — set the right figure.") % values
            )
        if self.from_spa:
            return (
                _(
                    "Not yet published for %(year)s; using your %(from_year)s figure of %(amount)s — "
                    "set it when CMS publishes."
                )
                % values
            )
        return (
            _("Not yet published for %(year)s; using %(from_year)s's %(amount)s — set it when CMS publishes.") % values
        )


class GiftLimits:
    """Resolves the limit of any year from one query of the spa's own figures."""

    def __init__(self, spa):
        self.own = dict(GiftLimit.objects.filter(spa=spa).values_list("year", "limit"))

    def for_year(self, year):
        if year in self.own:
            return YearLimit(year, self.own[year], "spa")
        if year in PUBLISHED_GIFT_LIMITS:
            return YearLimit(year, PUBLISHED_GIFT_LIMITS[year], "published")
        known = {known_year: (amount, False) for known_year, amount in PUBLISHED_GIFT_LIMITS.items()}
        known.update({known_year: (amount, True) for known_year, amount in self.own.items()})
        earlier = [known_year for known_year in known if known_year < year]
        from_year = max(earlier) if earlier else min(known)
        amount, from_spa = known[from_year]
        return YearLimit(year, amount, "carried", from_year=from_year, from_spa=from_spa)


def gift_limit_for(*, spa, year):
    """The limit per recipient for a calendar year (the spa's, the published one, or the latest known)."""
    return GiftLimits(spa).for_year(year)


def _check_year(year):
    if not EARLIEST_YEAR <= year <= LATEST_YEAR:
        raise ValidationError(
            {
                "year": _("Choose a year between %(first)s and %(last)s.")
                % {
                    "first": EARLIEST_YEAR,
                    "last": LATEST_YEAR,
                }
            }
        )


@transaction.atomic
def gift_limit_set(*, spa, year, limit, actor, request=None):
    """Set the spa's limit per recipient for one calendar year (for example when CMS publishes it)."""
    _check_year(year)
    limit = Decimal(limit)
    if limit < 0 or limit > MAX_AMOUNT:
        raise ValidationError({"limit": _("Enter an amount between $0.00 and %(max)s.") % {"max": money(MAX_AMOUNT)}})
    row = GiftLimit.objects.select_for_update().filter(spa=spa, year=year).first()
    previous = row.limit if row else None
    if row is None:
        row = GiftLimit(spa=spa, year=year, limit=limit)
    row.limit = limit
    row.full_clean()
    row.save()
    audit_record(
        spa=spa,
        action="gift_limit.set",
        actor=actor,
        obj=row,
        request=request,
        detail={"year": year, "limit": str(limit), "previous": str(previous) if previous is not None else None},
    )
    return row


@transaction.atomic
def gift_limit_clear(*, spa, year, actor, request=None):
    """Drop the spa's own figure for a year: the published (or latest known) figure applies again."""
    row = GiftLimit.objects.select_for_update().filter(spa=spa, year=year).first()
    if row is None:
        return False
    audit_record(
        spa=spa,
        action="gift_limit.cleared",
        actor=actor,
        obj=row,
        request=request,
        detail={"year": year, "limit": str(row.limit)},
    )
    row.delete()
    return True


# --- a recipient's year ----------------------------------------------------------------------------


def year_bounds(year):
    return datetime.date(year, 1, 1), datetime.date(year, 12, 31)


def _recipient_filter(person):
    if isinstance(person, Clinician):
        return Q(recipient_clinician=person)
    return Q(recipient_contact=person)


def recipient_year_total(*, spa, recipient, year, excluding=None):
    """The fair market value of everything ``recipient`` was given in ``year``."""
    gifts = Gift.objects.filter(_recipient_filter(recipient), spa=spa, given_on__range=year_bounds(year))
    if excluding is not None:
        gifts = gifts.exclude(pk=excluding.pk)
    return gifts.aggregate(total=Sum("fair_market_value"))["total"] or Decimal("0")


def limit_share(total, limit_amount):
    """The share of the limit used, as a Decimal (1 = the whole limit); None when the limit is $0."""
    if limit_amount <= 0:
        return None if total > 0 else Decimal("0")
    return Decimal(total) / Decimal(limit_amount)


def limit_state(total, limit_amount):
    """ "ok", "warning" (80% or more) or "over" (past the limit)."""
    if total > limit_amount:
        return "over"
    if total >= limit_amount * GIFT_WARNING_SHARE and total > 0:
        return "warning"
    return "ok"


def whole_percent(share):
    return int((share * 100).to_integral_value(rounding=ROUND_DOWN)) if share is not None else None


@dataclass
class RecipientYear:
    """One recipient's calendar year against the limit."""

    person: object
    practice: object
    year: int
    total: Decimal
    limit: YearLimit
    gift_count: int = 0
    overrides: list = field(default_factory=list)

    @property
    def is_clinician(self):
        return isinstance(self.person, Clinician)

    @property
    def key(self):
        return recipient_key(self.person)

    @property
    def name(self):
        return self.person.display_name if self.is_clinician else self.person.name

    @property
    def role_label(self):
        if self.is_clinician:
            return _("Clinician") + (f" ({self.person.credentials})" if self.person.credentials else "")
        return _("Office staff") + f" ({self.person.get_role_display()})"

    @property
    def share(self):
        return limit_share(self.total, self.limit.amount)

    @property
    def percent(self):
        return whole_percent(self.share)

    @property
    def bar_percent(self):
        percent = self.percent
        return 100 if percent is None else min(percent, 100)

    @property
    def state(self):
        return limit_state(self.total, self.limit.amount)

    @property
    def remaining(self):
        return max(self.limit.amount - self.total, Decimal("0"))

    @property
    def over_by(self):
        return max(self.total - self.limit.amount, Decimal("0"))

    @property
    def sort_key(self):
        share = self.share
        return (-(share if share is not None else Decimal("1e9")), self.name.lower())


def recipient_key(person):
    """How a person is named in forms and URLs: "clinician:<uuid>" or "contact:<uuid>"."""
    kind = "clinician" if isinstance(person, Clinician) else "contact"
    return f"{kind}:{person.public_id}"


def recipient_from_key(*, spa, key):
    """The clinician or office contact of the spa a key names, or None."""
    kind, _sep, public_id = (key or "").partition(":")
    model = {"clinician": Clinician, "contact": OfficeContact}.get(kind)
    if model is None:
        return None
    try:
        return model.objects.select_related("practice").filter(spa=spa, public_id=public_id).first()
    except ValidationError:  # not a UUID
        return None


# --- recording a gift ------------------------------------------------------------------------------


@dataclass
class GiftRecorded:
    gift: Gift
    standing: RecipientYear

    @property
    def warning(self):
        return self.standing.state in ("warning", "over")

    @property
    def overridden(self):
        return bool(self.gift.override_by_id)


def _is_owner(spa, user):
    if user is None or not user.is_authenticated:
        return False
    return Membership.objects.filter(spa=spa, user=user, role=Role.OWNER).exists()


def _person_name(person):
    return person.display_name if isinstance(person, Clinician) else person.name


def _check_gift(*, spa, practice, recipient, given_on, kind, description, fair_market_value):
    errors = {}
    if kind in CASH_EQUIVALENT_KINDS:
        errors["kind"] = str(CASH_REFUSAL)
    elif kind not in GiftKind.values:
        errors["kind"] = _("Choose what kind of gift it is.")
    if practice is None or practice.spa_id != spa.pk:
        errors["practice"] = _("Unknown practice.")
    if recipient is None or recipient.spa_id != spa.pk:
        errors["recipient"] = _("Choose the clinician or staff member who received it.")
    elif practice is not None and recipient.practice_id != practice.pk:
        errors["recipient"] = _("%(person)s does not work at %(practice)s. Choose someone from this practice.") % {
            "person": _person_name(recipient),
            "practice": practice.name,
        }
    if given_on is None:
        errors["given_on"] = _("Enter the date it was given.")
    elif given_on > spa_today(spa):
        errors["given_on"] = _("A gift is recorded once it has been given: the date cannot be in the future.")
    elif given_on.year < EARLIEST_YEAR:
        errors["given_on"] = _("Enter a date from %(year)s on.") % {"year": EARLIEST_YEAR}
    if not (description or "").strip():
        errors["description"] = _("Say what was given (for example “Lunch for the front desk, 6 people”).")
    value = _as_decimal(fair_market_value)
    if value is None:
        errors["fair_market_value"] = _("Enter the fair market value in dollars and cents, for example 45.00.")
    else:
        if not value.is_finite() or value <= 0:
            errors["fair_market_value"] = _(
                "Enter what it would cost to buy, more than $0.00: the limit counts fair market value."
            )
        elif value > MAX_AMOUNT or value != value.quantize(Decimal("0.01")):
            errors["fair_market_value"] = _("Enter an amount in dollars and cents, up to %(max)s.") % {
                "max": money(MAX_AMOUNT)
            }
    if errors:
        raise ValidationError(errors)


def _as_decimal(value):
    if value is None or isinstance(value, float):  # floats are not money
        return None
    try:
        return Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        return None


def _lock(recipient):
    """Lock the recipient's row so that a second gift recorded at the same moment waits for this one."""
    return type(recipient).objects.select_for_update(of=("self",)).select_related("practice").get(pk=recipient.pk)


def _over_limit_message(*, person, year, new_total, limit):
    return _("This would bring %(person)s's gifts in %(year)s to %(total)s, over the %(limit)s limit by %(over)s.") % {
        "person": _person_name(person),
        "year": year,
        "total": money(new_total),
        "limit": money(limit.amount),
        "over": money(new_total - limit.amount),
    }


@transaction.atomic
def gift_record(
    *,
    spa,
    practice,
    recipient,
    given_on,
    kind,
    description,
    fair_market_value,
    actor,
    override_reason="",
    request=None,
):
    """Record a gift (refusing cash, people of another practice, and going over the limit without an
    owner's override), log its touchpoint, and return a ``GiftRecorded`` with the recipient's year."""
    _check_gift(
        spa=spa,
        practice=practice,
        recipient=recipient,
        given_on=given_on,
        kind=kind,
        description=description,
        fair_market_value=fair_market_value,
    )
    recipient = _lock(recipient)
    if recipient.practice_id != practice.pk:  # moved to another practice while the form was open
        raise ValidationError({"recipient": _("Choose someone from this practice.")})
    value = _as_decimal(fair_market_value)
    year = given_on.year
    limit = gift_limit_for(spa=spa, year=year)
    new_total = recipient_year_total(spa=spa, recipient=recipient, year=year) + value
    override_reason = (override_reason or "").strip()
    overriding = new_total > limit.amount
    if overriding:
        message = _over_limit_message(person=recipient, year=year, new_total=new_total, limit=limit)
        if not _is_owner(spa, actor):
            raise ValidationError(
                {
                    "fair_market_value": message
                    + " "
                    + _(
                        "Going over needs an owner's recorded override with a reason: ask an owner to record "
                        "this gift, or give something of lower value."
                    )
                }
            )
        if not override_reason:
            raise ValidationError(
                {
                    "override_reason": message
                    + " "
                    + _("Going over needs an owner's recorded override: write the reason for going over here.")
                }
            )
    gift = Gift(
        spa=spa,
        practice=practice,
        recipient_clinician=recipient if isinstance(recipient, Clinician) else None,
        recipient_contact=recipient if isinstance(recipient, OfficeContact) else None,
        given_on=given_on,
        kind=kind,
        description=description.strip(),
        fair_market_value=value,
        logged_by=actor if actor is not None and actor.is_authenticated else None,
    )
    if overriding:
        gift.override_reason = override_reason
        gift.override_by = actor
        gift.override_at = timezone.now()
    gift.full_clean()
    gift.save()
    touchpoint = touchpoint_log(
        spa=spa,
        practice=practice,
        kind=TouchpointKind.GIFT,
        occurred_on=given_on,
        actor=actor,
        notes=_("Gift ledger: %(kind)s — %(description)s (%(value)s).")
        % {"kind": gift.get_kind_display(), "description": gift.description, "value": money(value)},
        clinicians=[recipient] if isinstance(recipient, Clinician) else [],
        contacts=[recipient] if isinstance(recipient, OfficeContact) else [],
        close_task=False,
        request=request,
    )
    audit_record(
        spa=spa,
        action="gift.recorded",
        actor=actor,
        obj=gift,
        request=request,
        detail={
            **_snapshot(gift),
            "year_total": str(new_total),
            "limit": str(limit.amount),
            # The touchpoint the gift logged, so removing the entry removes it too.
            "touchpoint": str(touchpoint.public_id),
        },
    )
    if overriding:
        audit_record(
            spa=spa,
            action="gift.limit_overridden",
            actor=actor,
            obj=gift,
            request=request,
            detail={"reason": override_reason, "year_total": str(new_total), "limit": str(limit.amount)},
        )
    standing = RecipientYear(
        person=recipient,
        practice=practice,
        year=year,
        total=new_total,
        limit=limit,
        overrides=[gift] if overriding else [],
    )
    return GiftRecorded(gift=gift, standing=standing)


def _snapshot(gift):
    return {
        "practice": str(gift.practice.public_id),
        "practice_name": gift.practice.name,
        "recipient": recipient_key(gift.recipient),
        "recipient_name": _person_name(gift.recipient),
        "given_on": gift.given_on.isoformat(),
        "kind": gift.kind,
        "description": gift.description,
        "fair_market_value": str(gift.fair_market_value),
        "override_reason": gift.override_reason,
        "override_by": gift.override_by.email if gift.override_by_id else None,
    }


def _touchpoint_of(gift):
    from spas.models import AuditEvent

    event = (
        AuditEvent.objects.filter(
            spa=gift.spa, object_type=gift._meta.label_lower, object_id=str(gift.public_id), action="gift.recorded"
        )
        .order_by("-created_at")
        .first()
    )
    touchpoint_id = (event.detail or {}).get("touchpoint") if event else None
    if not touchpoint_id:
        return None
    return Touchpoint.objects.filter(spa=gift.spa, public_id=touchpoint_id, kind=TouchpointKind.GIFT).first()


@transaction.atomic
def gift_delete(*, gift, actor, reason, request=None):
    """Remove an entry recorded by mistake (owners only, with a reason); its touchpoint goes with it."""
    spa = gift.spa
    if not _is_owner(spa, actor):
        raise ValidationError(_("Only an owner can remove or correct an entry of the gift ledger."))
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": _("Say why this entry is removed; the reason is kept in the audit trail.")})
    gift = (
        Gift.objects.select_related("practice", "recipient_clinician", "recipient_contact", "override_by")
        .filter(pk=gift.pk, spa=spa)
        .first()
    )
    if gift is None:
        raise ValidationError(_("This entry was removed already."))
    _lock(gift.recipient)
    touchpoint = _touchpoint_of(gift)
    audit_record(
        spa=spa,
        action="gift.deleted",
        actor=actor,
        obj=gift,
        request=request,
        detail={**_snapshot(gift), "reason": reason},
    )
    gift.delete()
    if touchpoint is not None:
        touchpoint_delete(touchpoint=touchpoint, actor=actor, request=request)


@transaction.atomic
def gift_correct(*, gift, actor, reason, request=None, **values):
    """Replace an entry with corrected values (owners only, with a reason). The corrected gift passes the
    same checks as a new one, its year counted without the entry it replaces. Returns ``GiftRecorded``."""
    old_id = str(gift.public_id)
    gift_delete(gift=gift, actor=actor, reason=reason, request=request)
    recorded = gift_record(spa=gift.spa, actor=actor, request=request, **values)
    audit_record(
        spa=gift.spa,
        action="gift.corrected",
        actor=actor,
        obj=recorded.gift,
        request=request,
        detail={"replaces": old_id, "reason": reason.strip()},
    )
    return recorded


# --- reads -----------------------------------------------------------------------------------------


def gift_entries(*, spa, year=None, practice=None, recipient=None):
    """Ledger entries, newest first, with practice, recipient and who logged or overrode them loaded."""
    gifts = Gift.objects.filter(spa=spa).select_related(
        "practice", "recipient_clinician", "recipient_contact", "logged_by", "override_by"
    )
    if year is not None:
        gifts = gifts.filter(given_on__range=year_bounds(year))
    if practice is not None:
        gifts = gifts.filter(practice=practice)
    if recipient is not None:
        gifts = gifts.filter(_recipient_filter(recipient))
    return gifts.order_by("-given_on", "-created_at", "-id")


def gift_years(*, spa, around):
    """The years a ledger can be looked at in: those with gifts, and ``around`` (usually this year)."""
    years = {day.year for day in Gift.objects.filter(spa=spa).dates("given_on", "year")}
    years.add(around)
    return sorted(years, reverse=True)


def recipient_year_totals(*, spa, year, practice=None, recipient=None, limits=None):
    """Per recipient who was given something in ``year`` (at ``practice`` / only ``recipient`` when
    given): their whole year's total against the limit, gift count and overrides. A fixed number of
    queries however many gifts; sorted by share of the limit used, highest first."""
    limit = (limits or GiftLimits(spa)).for_year(year)
    in_year = Gift.objects.filter(spa=spa, given_on__range=year_bounds(year))
    gifts = in_year
    if recipient is not None:
        gifts = gifts.filter(_recipient_filter(recipient))
    if practice is not None:
        # Their whole year counts, not only what was given at this practice.
        at_practice = gifts.filter(practice=practice)
        gifts = gifts.filter(
            Q(
                recipient_clinician__in=at_practice.filter(recipient_clinician__isnull=False).values(
                    "recipient_clinician"
                )
            )
            | Q(recipient_contact__in=at_practice.filter(recipient_contact__isnull=False).values("recipient_contact"))
        )
    sums = list(
        gifts.values("recipient_clinician", "recipient_contact")
        .annotate(total=Sum("fair_market_value"), gift_count=Count("id"))
        .order_by()
    )
    clinicians = Clinician.objects.filter(
        spa=spa, pk__in=[row["recipient_clinician"] for row in sums if row["recipient_clinician"]]
    ).select_related("practice")
    contacts = OfficeContact.objects.filter(
        spa=spa, pk__in=[row["recipient_contact"] for row in sums if row["recipient_contact"]]
    ).select_related("practice")
    people = {("clinician", person.pk): person for person in clinicians}
    people.update({("contact", person.pk): person for person in contacts})
    overrides = {}
    for gift in gifts.filter(override_by__isnull=False).select_related("override_by").order_by("given_on", "id"):
        key = (
            ("clinician", gift.recipient_clinician_id)
            if gift.recipient_clinician_id
            else ("contact", gift.recipient_contact_id)
        )
        overrides.setdefault(key, []).append(gift)
    standings = []
    for row in sums:
        key = (
            ("clinician", row["recipient_clinician"])
            if row["recipient_clinician"]
            else ("contact", row["recipient_contact"])
        )
        person = people.get(key)
        if person is None:
            continue
        standings.append(
            RecipientYear(
                person=person,
                practice=person.practice,
                year=year,
                total=row["total"],
                limit=limit,
                gift_count=row["gift_count"],
                overrides=overrides.get(key, []),
            )
        )
    return sorted(standings, key=lambda standing: standing.sort_key)


def practice_year_standings(*, spa, practice, year):
    """Every clinician and office contact of ``practice`` with their ``year`` against the limit (three
    queries, however many people and gifts)."""
    limit = gift_limit_for(spa=spa, year=year)
    in_year = Q(gifts__given_on__range=year_bounds(year))
    annotations = {
        "year_total": Sum("gifts__fair_market_value", filter=in_year),
        "year_gift_count": Count("gifts", filter=in_year),
    }
    clinicians = (
        Clinician.objects.filter(spa=spa, practice=practice)
        .annotate(**annotations)
        .order_by("last_name", "first_name", "pk")
    )
    contacts = OfficeContact.objects.filter(spa=spa, practice=practice).annotate(**annotations).order_by("name", "pk")
    return [
        RecipientYear(
            person=person,
            practice=practice,
            year=year,
            total=person.year_total or Decimal("0"),
            limit=limit,
            gift_count=person.year_gift_count,
        )
        for person in [*clinicians, *contacts]
    ]


def gift_people(*, spa, practice=None):
    """Clinicians and office contacts who can receive a gift, grouped by practice: [(practice, [people])]."""
    clinicians = Clinician.objects.filter(spa=spa).select_related("practice")
    contacts = OfficeContact.objects.filter(spa=spa).select_related("practice")
    if practice is not None:
        clinicians = clinicians.filter(practice=practice)
        contacts = contacts.filter(practice=practice)
    groups = {}
    for person in [*clinicians.order_by("last_name", "first_name", "pk"), *contacts.order_by("name", "pk")]:
        groups.setdefault(person.practice, []).append(person)
    return sorted(groups.items(), key=lambda item: (item[0].name.lower(), item[0].pk))


def gift_recipients(*, spa, practice=None):
    """People who have received a gift (for the ledger's recipient filter)."""
    clinicians = Clinician.objects.filter(spa=spa, gifts__isnull=False).select_related("practice").distinct()
    contacts = OfficeContact.objects.filter(spa=spa, gifts__isnull=False).select_related("practice").distinct()
    if practice is not None:
        clinicians = clinicians.filter(practice=practice)
        contacts = contacts.filter(practice=practice)
    return [*clinicians.order_by("last_name", "first_name", "pk"), *contacts.order_by("name", "pk")]


def gift_year_summary(standings):
    """Counts for the report's header: recipients, total given, near the limit, over it."""
    return {
        "recipients": len(standings),
        "total": sum((standing.total for standing in standings), Decimal("0")),
        "gift_count": sum(standing.gift_count for standing in standings),
        "warning": sum(1 for standing in standings if standing.state == "warning"),
        "over": sum(1 for standing in standings if standing.state == "over"),
    }


def limit_years(*, spa, today):
    """The years the limits page lists: every published year, every year the spa set or gave in, and
    this year and next."""
    years = set(PUBLISHED_GIFT_LIMITS) | {today.year, today.year + 1}
    years |= set(GiftLimit.objects.filter(spa=spa).values_list("year", flat=True))
    years |= {day.year for day in Gift.objects.filter(spa=spa).dates("given_on", "year")}
    limits = GiftLimits(spa)
    return [limits.for_year(year) for year in sorted(years, reverse=True)]
