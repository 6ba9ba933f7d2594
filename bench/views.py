"""The baseline the benchmark compares the app's pages with: a plain paginated Django ListView."""

from django.views.generic import ListView

from referrals.models import Referral


class PlainReferralList(ListView):
    """50 referrals a page, newest first, with their practice: what Django gives with no work on top.

    It runs behind the same middleware as the app's pages (sessions, auth, tenancy with its scope) and, like
    any ListView with ``paginate_by``, counts the rows for "page N of M". The ordering is the inbox's
    (``-received_at, -id``) so the two read the same index.
    """

    model = Referral
    paginate_by = 50
    ordering = ["-received_at", "-id"]
    template_name = "bench/plain_list.html"

    def get_queryset(self):
        return super().get_queryset().filter(spa=self.request.spa).select_related("practice")
