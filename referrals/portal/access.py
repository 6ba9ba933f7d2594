"""The partner portal's access check: the one place that decides which practice a portal request works for.

Portal pages live under ``/portal/<spa_slug>/``. A signed-in person with an active ``PortalAccess`` for
that spa sees their own practice's referrals and nothing else. "No access", "access revoked" and "no such
spa" all answer the same 404, exactly like the workspace does for non-members; spa members have no
portal access unless the spa gave them one.
"""

from functools import wraps

from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.http import Http404
from django.urls import reverse
from django_scopes import scope, scopes_disabled

from ..models import PortalAccess


def portal_access_for(user, spa_slug):
    """The user's active portal access in the spa with this slug, or None. Reads across tenants on purpose."""
    if not user.is_authenticated or not user.is_active:
        return None
    with scopes_disabled():
        return (
            PortalAccess.objects.select_related("spa", "practice", "user")
            .filter(spa__slug=spa_slug, user=user, revoked_at=None)
            .first()
        )


def portal_accesses_for_user(user):
    """Every spa portal the user may use (their own list, so it crosses tenants)."""
    if not user.is_authenticated or not user.is_active:
        return []
    with scopes_disabled():
        return list(
            PortalAccess.objects.select_related("spa", "practice")
            .filter(user=user, revoked_at=None)
            .order_by("spa__name")
        )


def portal_view(view):
    """Decorate a view under /portal/<spa_slug>/: sign-in required, an active portal access required (404
    otherwise), ``request.spa`` / ``request.portal_access`` / ``request.practice`` set, and the view run
    (and its lazy response rendered) inside the spa's scope."""

    @wraps(view)
    def wrapper(request, spa_slug, *args, **kwargs):
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path(), reverse(settings.LOGIN_URL))
        access = portal_access_for(request.user, spa_slug)
        if access is None:
            raise Http404("No such portal.")
        request.spa = access.spa
        request.portal_access = access
        request.practice = access.practice
        with scope(spa=access.spa):
            response = view(request, spa_slug, *args, **kwargs)
            # Lazy template responses must render while the scope is active.
            if hasattr(response, "render") and not getattr(response, "is_rendered", True):
                response = response.render()
        return response

    wrapper.portal_view = True
    return wrapper
