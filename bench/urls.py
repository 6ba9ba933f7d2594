"""The project's URLs plus the benchmark's baseline, under the workspace prefix so TenancyMiddleware resolves
the spa, checks the membership and activates the scope for it exactly as for the app's pages."""

from django.urls import path

from spa_referrals.urls import handler404, handler500  # noqa: F401 - a ROOT_URLCONF names its error views
from spa_referrals.urls import urlpatterns as project_urlpatterns

from .views import PlainReferralList

urlpatterns = [
    path("s/<slug:spa_slug>/bench/plain-list/", PlainReferralList.as_view(), name="bench_plain_list"),
    *project_urlpatterns,
]
