"""The baselines the benchmark compares the app with: a plain paginated Django ListView (for the inbox and the
dashboard) and a bare DRF endpoint inserting one row (for the API's referral create)."""

from django.views.generic import ListView
from django_scopes import scope
from rest_framework import serializers, status
from rest_framework.parsers import JSONParser
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response
from rest_framework.views import APIView

from infra.models import AuditEvent
from referrals.api.auth import ApiKeyAuthentication, HasApiKey
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


class BareInsertSerializer(serializers.Serializer):
    message = serializers.CharField(max_length=200)


class BareInsertApi(APIView):
    """POST one JSON field, insert one row, answer 201 with its id: what DRF costs with no work on top.

    Authenticated exactly as the real API (``ApiKeyAuthentication``: the key's SHA-256 looked up with its spa and
    practice, ``last_used_at`` written at most once a minute; ``HasApiKey``), in the key's spa scope (which also
    sets the row-level-security tenant), with DRF's plain JSON parser and renderer. The row is an ``AuditEvent``
    written through the ORM: a real tenant table of the app (spa foreign key, two indexes beside the primary key,
    a JSON column), and the kind of row the referral create itself writes among its others, so the difference
    between the two endpoints is the create's own work (validation, the idempotency record, the referral and its
    timeline, the outbox email, reading it back) and nothing else. The harness deletes these rows (action
    ``bench.insert_one``) after the run, so the audit trail of the seeded spa stays as seeded.
    """

    authentication_classes = [ApiKeyAuthentication]
    permission_classes = [HasApiKey]
    parser_classes = [JSONParser]
    renderer_classes = [JSONRenderer]
    throttle_classes = []

    def post(self, request):
        serializer = BareInsertSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        with scope(spa=request.auth.spa):
            event = AuditEvent.objects.create(
                spa=request.auth.spa,
                actor_label="bench",
                action="bench.insert_one",
                detail={"message": serializer.validated_data["message"]},
            )
        return Response({"id": event.pk}, status=status.HTTP_201_CREATED)
