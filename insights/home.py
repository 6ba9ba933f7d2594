"""Where "/" sends people. It lives in the project layer because it reads both the spas (memberships)
and the referrals app (partner portal access); spas must not import referrals."""

from django.shortcuts import redirect, render

from referrals.portal.access import portal_accesses_for_user
from spas.selectors import memberships_for_user


def home(request):
    """Send people where they most likely want to be: their spa, their partner portal, or creating a spa."""
    if not request.user.is_authenticated:
        return redirect("account_login")
    memberships = memberships_for_user(request.user)
    if not memberships:
        accesses = portal_accesses_for_user(request.user)
        if len(accesses) == 1:
            return redirect("portal:home", spa_slug=accesses[0].spa.slug)
        if accesses:
            return render(request, "portal/choose.html", {"accesses": accesses})
        return redirect("spa_create")
    last_slug = request.session.get("last_spa_slug")
    for membership in memberships:
        if membership.spa.slug == last_slug:
            return redirect("insights:dashboard", spa_slug=last_slug)
    if len(memberships) == 1:
        return redirect("insights:dashboard", spa_slug=memberships[0].spa.slug)
    return render(request, "spas/choose.html", {"memberships": memberships})
