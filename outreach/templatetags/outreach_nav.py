"""The outreach section's tabs (My day, Tasks, Campaigns, …), drawn on every outreach page."""

from django import template
from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext_lazy as _

register = template.Library()

# (url name, label, icon, prefixes of the url names that belong to the tab). Each area names its pages
# with its prefix ("campaign_detail", "gift_report", …) so the right tab lights up.
TABS = [
    ("my_day", _("My day"), "sun", ("my_day",)),
    ("task_list", _("Tasks"), "check2-square", ("task_",)),
    ("campaign_list", _("Campaigns"), "megaphone", ("campaign_",)),
    ("event_list", _("Events"), "calendar-event", ("event_",)),
    ("partner_health", _("Partner health"), "heart-pulse", ("partner_health", "health_")),
    ("gift_ledger", _("Gifts"), "gift", ("gift_",)),
    ("objection_library", _("Objections"), "chat-left-quote", ("objection_",)),
    ("index", _("Letters"), "envelope-paper", ("index", "template_", "send", "batch", "part_", "leave_behind")),
]


@register.inclusion_tag("outreach/partials/subnav.html", takes_context=True)
def outreach_subnav(context):
    request = context["request"]
    current = request.resolver_match.url_name if request.resolver_match else ""
    tabs = []
    for name, label, icon, prefixes in TABS:
        try:
            url = reverse(f"outreach:{name}", args=[request.spa.slug])
        except NoReverseMatch:  # an area whose pages are not mounted
            continue
        tabs.append({"url": url, "label": label, "icon": icon, "active": current.startswith(prefixes)})
    return {"tabs": tabs}
