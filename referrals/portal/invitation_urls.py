"""The link in a portal invitation email, /portal-invitations/<token>/, in the ``public`` namespace.

``referrals/intake/public_urls.py`` (the public pages' URLconf) includes this by its dotted path, so the
intake room routes the link without importing the portal.
"""

from django.urls import path

from . import views

urlpatterns = [
    path("", views.portal_invitation, name="portal_invitation"),
]
