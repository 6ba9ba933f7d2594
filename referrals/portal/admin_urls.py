"""The spa's side of the partner portal: inviting a practice's staff and revoking their access.

Mounted under /s/<spa_slug>/partners/<practice_id>/portal/ (spa_referrals/urls.py), so the workspace's
tenancy middleware has already checked the membership; owners and managers may change who has access.
"""

from django.urls import path

from . import admin_views

app_name = "portal_admin"

urlpatterns = [
    path("invite/", admin_views.portal_invite, name="invite"),
    path("access/revoke/", admin_views.portal_access_revoke, name="access_revoke"),
    path("invitations/revoke/", admin_views.portal_invitation_revoke, name="invitation_revoke"),
]
