"""Workspace URLs, mounted under /s/<spa_slug>/. (The front page, /s/<spa_slug>/ itself, is the dashboard: insights.)"""

from django.urls import path

from . import views

app_name = "spas"

urlpatterns = [
    path("settings/", views.spa_settings, name="settings"),
    path("team/", views.team, name="team"),
    path("team/invite/", views.team_invite, name="team_invite"),
    path("team/members/<uuid:member_id>/role/", views.member_role, name="member_role"),
    path("team/members/<uuid:member_id>/remove/", views.member_remove, name="member_remove"),
    path("team/invitations/<uuid:invitation_id>/revoke/", views.invitation_revoke, name="invitation_revoke"),
]
