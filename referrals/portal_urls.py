"""Partner portal URLs, mounted under /portal/<spa_slug>/ (clinic staff of one practice)."""

from django.urls import path

from . import portal_views

app_name = "portal"

urlpatterns = [
    path("", portal_views.portal_home, name="home"),
    path("referrals/new/", portal_views.portal_referral_new, name="referral_new"),
    path("referrals/sent/", portal_views.portal_referral_sent, name="sent"),
    path("referrals/<uuid:referral_id>/", portal_views.portal_referral, name="referral"),
    path(
        "referrals/<uuid:referral_id>/information/",
        portal_views.portal_referral_add_information_view,
        name="referral_information",
    ),
    path(
        "referrals/<uuid:referral_id>/withdraw/", portal_views.portal_referral_withdraw_view, name="referral_withdraw"
    ),
    path("outcomes/", portal_views.portal_outcome_list, name="outcomes"),
    path("outcomes/<uuid:report_id>/", portal_views.portal_outcome, name="outcome"),
    path("outcomes/<uuid:report_id>/pdf/", portal_views.portal_outcome_pdf, name="outcome_pdf"),
]
