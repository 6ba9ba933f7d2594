"""Gift ledger in templates: ``|money`` ($1,234.50) and the practice page's gifts card."""

from decimal import Decimal, InvalidOperation

from django import template

from ..activity.selectors import spa_today
from ..gifts import selectors as gifts

register = template.Library()


@register.filter
def money(value):
    """A Decimal as dollars and cents with a $ sign; empty for nothing."""
    if value is None or value == "":
        return ""
    try:
        return gifts.money(Decimal(str(value)))
    except (InvalidOperation, ValueError):
        return ""


@register.filter
def gift_recipient_key(person):
    return gifts.recipient_key(person)


@register.inclusion_tag("outreach/gifts/partials/practice_card.html", takes_context=True)
def practice_gifts(context):
    """This year's total against the limit for each clinician and office contact of the practice on the
    page (a fixed number of queries, however many people and gifts)."""
    practice = context["practice"]
    spa = context.get("current_spa") or context["request"].spa
    year = spa_today(spa).year
    standings = gifts.practice_year_standings(spa=spa, practice=practice, year=year)
    return {
        "practice": practice,
        "current_spa": spa,
        "year": year,
        "standings": standings,
        "limit": standings[0].limit if standings else gifts.gift_limit_for(spa=spa, year=year),
        "given_total": sum((standing.total for standing in standings), Decimal("0")),
    }
