"""Gift ledger reads: the limit of a year, a recipient's year against it, the ledger's entries, totals and
standings, the people who can receive a gift and the report's figures. Nothing here writes."""

import datetime
from dataclasses import dataclass, field
from decimal import ROUND_DOWN, Decimal

from django.core.exceptions import ValidationError
from django.db.models import Count, Q, Sum
from django.utils.translation import gettext as _

from partners.models import Clinician, OfficeContact

from ..models import (
    GIFT_WARNING_SHARE,
    PUBLISHED_GIFT_LIMITS,
    Gift,
    GiftLimit,
)


def money(amount):
    """$1,234.50: how amounts are written in messages and on pages."""
    return f"${Decimal(amount):,.2f}"


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
