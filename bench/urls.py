"""The project's URLs plus the benchmark's baselines: the plain list under the workspace prefix, so
TenancyMiddleware resolves the spa, checks the membership and activates the scope for it exactly as for the app's
pages; the bare insert under /api/, beside the real API."""

from django.urls import path

from spa_referrals.urls import handler404, handler500  # noqa: F401 - a ROOT_URLCONF names its error views
from spa_referrals.urls import urlpatterns as project_urlpatterns

from .views import BareInsertApi, PlainReferralList

urlpatterns = [
    path("s/<slug:spa_slug>/bench/plain-list/", PlainReferralList.as_view(), name="bench_plain_list"),
    # Under /api/ like the real API (the same middleware treats both alike); before the project's patterns,
    # whose /api/ catch-all answers a JSON 404.
    path("api/bench/insert-one/", BareInsertApi.as_view(), name="bench_insert_one"),
    *project_urlpatterns,
]
