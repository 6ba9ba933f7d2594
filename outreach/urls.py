"""Outreach URLs, mounted under /s/<spa_slug>/outreach/ (namespace "outreach").

Each area has its own URL module, included here without a namespace of its own so every page is
"outreach:<name>"; names are prefixed by area to stay unique.
"""

from django.urls import include, path

app_name = "outreach"

urlpatterns = [
    path("", include("outreach.activity.urls")),
    path("", include("outreach.letters.urls")),
    path("campaigns/", include("outreach.campaigns.urls")),
    path("events/", include("outreach.events.urls")),
    path("objections/", include("outreach.objections.urls")),
    path("gifts/", include("outreach.gifts.urls")),
    path("health/", include("outreach.health.urls")),
]
