"""REST API (/api/v1/…), its OpenAPI schema (/api/schema/) and docs (/api/docs/)."""

from django.urls import path, re_path
from drf_spectacular.views import SpectacularAPIView

from . import apis
from .errors import api_not_found

app_name = "api"

urlpatterns = [
    path("v1/referrals/", apis.ReferralCreateApi.as_view(), name="referral_create"),
    path("v1/referrals/<uuid:referral_id>/", apis.ReferralDetailApi.as_view(), name="referral_detail"),
    path("v1/services/", apis.ServiceListApi.as_view(), name="service_list"),
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("docs/", apis.ApiDocsView.as_view(url_name="api:schema"), name="docs"),
    # Anything else under /api/ is a JSON 404, not the site's HTML page ([\s\S]: newlines too, which "." misses).
    re_path(r"^[\s\S]*$", api_not_found, name="not_found"),
]
