from django.conf import settings
from django.contrib import admin
from django.urls import include, path

from infra.health import healthz
from insights.home import home
from referrals.fhir import apis as fhir_apis
from spas import views as spa_views

# Everything a spa's staff sees lives under /s/<spa_slug>/; spas.tenancy
# resolves the spa and checks membership for every one of these URLs.
workspace_patterns = [
    path("", include("insights.urls")),  # the front page, /s/<spa_slug>/, is the dashboard
    path("", include("spas.urls")),
    path("catalog/", include("spas.catalog_urls")),
    path("documents/", include("spas.document_urls")),
    path("documents/pads/", include("referrals.pads.choose_urls")),
    path("partners/", include("partners.urls")),
    path("partners/<uuid:practice_id>/portal/", include("referrals.portal.admin_urls")),
    path("partners/<uuid:practice_id>/pads/", include("referrals.pads.urls")),
    path("referrals/", include("referrals.urls")),
    path("referrals/inbound/", include("referrals.inbound.urls")),
    path("referrals/<uuid:referral_id>/outcome/", include("referrals.outcomes.urls")),
    path("referrals/<uuid:referral_id>/consent/", include("referrals.consent.urls")),
    path("referrals/<uuid:referral_id>/patient/", include("referrals.patient_rights.urls")),
    path("referrals/<uuid:referral_id>/follow-up/", include("referrals.followup.urls")),
    path("api-keys/", include("referrals.api.key_urls")),
    path("webhooks/", include("referrals.webhooks.urls")),
    path("outreach/", include("outreach.urls")),
    path("reports/", include("insights.report_urls")),
]

urlpatterns = [
    path("", home, name="home"),
    path("healthz", healthz, name="healthz"),
    path("accounts/", include("allauth.urls")),
    path("spas/", spa_views.spa_choose, name="spa_choose"),
    path("spas/new/", spa_views.spa_create, name="spa_create"),
    path("invitations/<str:token>/", spa_views.invitation_accept, name="invitation_accept"),
    path("brand/<uuid:public_id>/logo", spa_views.spa_logo, name="spa_logo"),
    path("s/<slug:spa_slug>/", include(workspace_patterns)),
    path("portal/<slug:spa_slug>/", include("referrals.portal.urls")),
    path("api/", include("referrals.api.urls")),
    # FHIR's base has no trailing slash ("POST [base]" is a transaction); both spellings reach the same view.
    path("fhir/r4", fhir_apis.TransactionApi.as_view(), name="fhir_base"),
    path("fhir/r4/", include("referrals.fhir.urls")),
    path("inbound/", include("referrals.inbound.webhook_urls")),
    path("", include("referrals.intake.public_urls")),
]
# The admin's address is a setting, and production may leave it out altogether (spa_referrals/admin_site.py).
if settings.ADMIN_ENABLED:
    urlpatterns.append(path(settings.ADMIN_URL, admin.site.urls))

handler404 = "infra.errors.page_not_found"
handler500 = "infra.errors.server_error"

# MEDIA_ROOT is never served as a folder, not even in DEBUG: it holds private referral
# attachments. Logos go through spas.views.spa_logo, attachments through a scoped, audited view.
