"""Public URLs (no sign-in, no spa in the address): the patient landing page /r/<code>, the patient's link
that revokes an authorization, the follow-up links after a visit (referrals/followup), and the portal invitation
link (whose view is the portal's: included by its dotted path, so intake does not import the portal)."""

from django.urls import include, path

from ..followup import views as follow_up_views
from . import public_views

app_name = "public"

urlpatterns = [
    path("r/", public_views.landing_code_entry, name="landing_code"),
    path("r/<str:code>", public_views.landing, name="landing"),
    path("r/<str:code>/", public_views.landing),
    path("r/<str:code>/thanks", public_views.landing_thanks, name="landing_thanks"),
    path("consent/revoke/<str:token>/", public_views.consent_revoke, name="consent_revoke"),
    # The patient's follow-up links (referrals/followup): a signed token each, no sign-in.
    path("follow-up/<str:token>/", follow_up_views.follow_up_feedback, name="follow_up_feedback"),
    path(
        "follow-up/<str:token>/testimonial/withdraw/",
        follow_up_views.follow_up_testimonial_withdraw,
        name="follow_up_testimonial_withdraw",
    ),
    path("follow-up/<str:token>/stop/", follow_up_views.follow_up_stop, name="follow_up_stop"),
    path("portal-invitations/<str:token>/", include("referrals.portal.invitation_urls")),
]
