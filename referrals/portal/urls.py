"""Partner portal URLs, mounted under /portal/<spa_slug>/ (clinic staff of one practice)."""

from django.urls import path

from . import views

app_name = "portal"

urlpatterns = [
    path("", views.portal_home, name="home"),
    path("referrals/new/", views.portal_referral_new, name="referral_new"),
    path("referrals/sent/", views.portal_referral_sent, name="sent"),
    path("referrals/<uuid:referral_id>/", views.portal_referral, name="referral"),
    path(
        "referrals/<uuid:referral_id>/information/",
        views.portal_referral_add_information_view,
        name="referral_information",
    ),
    path("referrals/<uuid:referral_id>/withdraw/", views.portal_referral_withdraw_view, name="referral_withdraw"),
    path("outcomes/", views.portal_outcome_list, name="outcomes"),
    path("outcomes/<uuid:report_id>/", views.portal_outcome, name="outcome"),
    path("outcomes/<uuid:report_id>/pdf/", views.portal_outcome_pdf, name="outcome_pdf"),
]
