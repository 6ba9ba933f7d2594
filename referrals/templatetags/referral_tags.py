"""Template helpers for referral pages and the workspace navigation."""

from django import template
from django_scopes import scope

from ..selectors import overdue_count

register = template.Library()


@register.simple_tag
def overdue_referral_count(spa):
    """The navigation's overdue badge: one COUNT query, run inside the spa's own scope."""
    if spa is None:
        return 0
    with scope(spa=spa):
        return overdue_count(spa=spa)
