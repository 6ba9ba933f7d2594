"""The gift ledger: what the spa gives clinicians and office staff, kept within the yearly limit.

Rules (the writes here, the reads in selectors.py; views only call them):

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

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from infra.audit import audit_record
from infra.models import AuditEvent
from partners.models import Clinician, OfficeContact
from spas.models import Membership, Role

from ..activity.selectors import spa_today
from ..activity.services import touchpoint_delete, touchpoint_log
from ..models import CASH_EQUIVALENT_KINDS, Gift, GiftKind, GiftLimit, Touchpoint, TouchpointKind
from .selectors import RecipientYear, gift_limit_for, money, recipient_key, recipient_year_total

EARLIEST_YEAR = 2000
LATEST_YEAR = 2100
MAX_AMOUNT = Decimal("999999.99")  # the model's max_digits=8, decimal_places=2

CASH_REFUSAL = gettext_lazy(
    "Cash and cash equivalents (gift cards, vouchers, prepaid cards) are never allowed for referral sources: "
    "the exception for non-monetary compensation does not cover them. Give an item, a meal, a complimentary "
    "service or event hospitality instead."
)


# --- the yearly limit ------------------------------------------------------------------------------


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
def gift_limit_set(*, spa, year, limit, actor):
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
        detail={"year": year, "limit": str(limit), "previous": str(previous) if previous is not None else None},
    )
    return row


@transaction.atomic
def gift_limit_clear(*, spa, year, actor):
    """Drop the spa's own figure for a year: the published (or latest known) figure applies again."""
    row = GiftLimit.objects.select_for_update().filter(spa=spa, year=year).first()
    if row is None:
        return False
    audit_record(
        spa=spa,
        action="gift_limit.cleared",
        actor=actor,
        obj=row,
        detail={"year": year, "limit": str(row.limit)},
    )
    row.delete()
    return True


# --- a recipient's year ----------------------------------------------------------------------------


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


def _override_check(*, spa, actor, recipient, year, new_total, limit, override_reason):
    """Whether the gift goes over the limit; going over is refused unless an owner gives a reason."""
    if new_total <= limit.amount:
        return False
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
    return True


def _gift_save(*, spa, practice, recipient, given_on, kind, description, value, actor, overriding, override_reason):
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
    return gift


def _gift_touchpoint_log(*, gift, recipient, value, actor):
    """The practice's "gift" touchpoint for a recorded gift (it closes no task)."""
    return touchpoint_log(
        spa=gift.spa,
        practice=gift.practice,
        kind=TouchpointKind.GIFT,
        occurred_on=gift.given_on,
        actor=actor,
        notes=_("Gift ledger: %(kind)s — %(description)s (%(value)s).")
        % {"kind": gift.get_kind_display(), "description": gift.description, "value": money(value)},
        clinicians=[recipient] if isinstance(recipient, Clinician) else [],
        contacts=[recipient] if isinstance(recipient, OfficeContact) else [],
        close_task=False,
    )


def _gift_recorded_audit(*, gift, touchpoint, new_total, limit, overriding, override_reason, actor):
    audit_record(
        spa=gift.spa,
        action="gift.recorded",
        actor=actor,
        obj=gift,
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
            spa=gift.spa,
            action="gift.limit_overridden",
            actor=actor,
            obj=gift,
            detail={"reason": override_reason, "year_total": str(new_total), "limit": str(limit.amount)},
        )


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
    overriding = _override_check(
        spa=spa,
        actor=actor,
        recipient=recipient,
        year=year,
        new_total=new_total,
        limit=limit,
        override_reason=override_reason,
    )
    gift = _gift_save(
        spa=spa,
        practice=practice,
        recipient=recipient,
        given_on=given_on,
        kind=kind,
        description=description,
        value=value,
        actor=actor,
        overriding=overriding,
        override_reason=override_reason,
    )
    touchpoint = _gift_touchpoint_log(gift=gift, recipient=recipient, value=value, actor=actor)
    _gift_recorded_audit(
        gift=gift,
        touchpoint=touchpoint,
        new_total=new_total,
        limit=limit,
        overriding=overriding,
        override_reason=override_reason,
        actor=actor,
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
def gift_delete(*, gift, actor, reason):
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
        detail={**_snapshot(gift), "reason": reason},
    )
    gift.delete()
    if touchpoint is not None:
        touchpoint_delete(touchpoint=touchpoint, actor=actor)


@transaction.atomic
def gift_correct(*, gift, actor, reason, **values):
    """Replace an entry with corrected values (owners only, with a reason). The corrected gift passes the
    same checks as a new one, its year counted without the entry it replaces. Returns ``GiftRecorded``."""
    old_id = str(gift.public_id)
    gift_delete(gift=gift, actor=actor, reason=reason)
    recorded = gift_record(spa=gift.spa, actor=actor, **values)
    audit_record(
        spa=gift.spa,
        action="gift.corrected",
        actor=actor,
        obj=recorded.gift,
        detail={"replaces": old_id, "reason": reason.strip()},
    )
    return recorded


# --- reads -----------------------------------------------------------------------------------------
