"""Tenancy: the one place that decides which spa a request or task works in.

Staff pages live under ``/s/<spa_slug>/``. ``TenancyMiddleware`` resolves the
spa, checks that the signed-in user is a member with a sufficient role, and
runs the rest of the request inside ``django_scopes.scope(spa=...)`` so that
a query on a scoped model without the tenant raises instead of leaking.
"Not yours" answers 404, exactly like "does not exist".
"""

import logging

import celery
from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import redirect
from django.urls import Resolver404, resolve, reverse
from django.utils import timezone
from django_scopes import scope, scopes_disabled

from infra.audit import NOBODY, audit_origin

from .models import Membership, Role, Spa

logger = logging.getLogger(__name__)

WORKSPACE_PREFIX = "/s/"


def requires_role(minimum_role):
    """Mark a workspace view as needing at least ``minimum_role`` (staff < manager < owner)."""

    def decorate(view):
        view.minimum_role = minimum_role
        return view

    return decorate


def _minimum_role_of(view_func):
    role = getattr(view_func, "minimum_role", None)
    if role is None:
        role = getattr(getattr(view_func, "view_class", None), "minimum_role", None)
    return role or Role.STAFF


def membership_for(user, spa_slug):
    """The user's membership in the spa with this slug, or None. Reads across tenants on purpose."""
    if not user.is_authenticated or not user.is_active:
        return None
    with scopes_disabled():
        return Membership.objects.select_related("spa").filter(spa__slug=spa_slug, user=user).first()


def _needs_mfa_setup(membership):
    if not (membership.spa.require_owner_mfa and membership.role == Role.OWNER):
        return False
    from allauth.mfa.models import Authenticator

    return not Authenticator.objects.filter(user=membership.user, type=Authenticator.Type.TOTP).exists()


class TenancyMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.spa = None
        request.membership = None
        if not request.path_info.startswith(WORKSPACE_PREFIX):
            return self.get_response(request)
        try:
            match = resolve(request.path_info)
        except Resolver404:
            return self.get_response(request)
        spa_slug = match.kwargs.get("spa_slug")
        if spa_slug is None:
            return self.get_response(request)

        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path(), reverse(settings.LOGIN_URL))
        membership = membership_for(request.user, spa_slug)
        if membership is None:
            raise Http404("No such spa.")
        if not membership.has_role(_minimum_role_of(match.func)):
            raise PermissionDenied("Your role does not allow this.")
        if _needs_mfa_setup(membership):
            from django.contrib import messages
            from django.utils.translation import gettext as _

            messages.warning(
                request,
                _("%(spa)s requires owners to use two-factor authentication. Set up an authenticator app to continue.")
                % {"spa": membership.spa.name},
            )
            return redirect("mfa_activate_totp")

        request.spa = membership.spa
        request.membership = membership
        if request.session.get("last_spa_slug") != membership.spa.slug:
            request.session["last_spa_slug"] = membership.spa.slug  # only written when it changes
        # The spa's scope, and its wall clock for every date and time the pages show.
        with scope(spa=membership.spa), timezone.override(membership.spa.timezone):
            response = self.get_response(request)
            # Lazy template responses must render while the scope is active.
            if hasattr(response, "render") and not getattr(response, "is_rendered", True):
                response = response.render()
        return response


class SpaTask(celery.Task):
    """Celery task base: the first argument is a spa id; the task body runs inside that spa's scope.

    Tasks take ids, never model instances. A task for a spa that no longer exists does nothing.
    """

    abstract = True
    takes_spa_id = True  # the log context names the spa of every line the task writes (infra.log_context)

    def __call__(self, spa_id, *args, **kwargs):
        spa = Spa.objects.filter(pk=spa_id).first()
        if spa is None:
            return None
        # (Every task, this one included, works as nobody for the audit trail: infra.audit.nobody_for_tasks.)
        with scope(spa=spa):
            return super().__call__(spa_id, *args, **kwargs)


def for_each_spa(work, *, keep_going=False, label=""):
    """Run ``work(spa)`` for every spa, one at a time inside its own scope; return the sum of the results.

    The fan-out of a periodic job over all tenants: the spas are listed without a scope, then each is worked on
    inside its scope (a task for one spa takes ``SpaTask`` instead). A spa deleted since the list was read is
    skipped. With ``keep_going`` a spa whose work fails is logged and the next one runs — one spa's bad data must
    not cost every later spa its run, and the next run retries it — while the task's soft time limit still
    stops the whole job. ``label`` names the work in that log line ("Credential reminders failed for spa 7").
    """
    with scopes_disabled():
        spa_ids = list(Spa.objects.order_by("pk").values_list("pk", flat=True))
    total = 0
    for spa_id in spa_ids:
        spa = Spa.objects.filter(pk=spa_id).first()
        if spa is None:
            continue
        with scope(spa=spa), audit_origin(NOBODY):
            try:
                total += work(spa)
            except SoftTimeLimitExceeded:
                raise
            except Exception:
                if not keep_going:
                    raise
                logger.exception("%s failed for spa %s", label or getattr(work, "__name__", "Work"), spa_id)
    return total
