"""Django's admin behind the same front door as the rest of the product.

The admin's own password form sat outside allauth: no rate limit, no lockout, no two-factor. Here the
admin never shows that form. Signing in goes through allauth's login (its ``secure_admin_login``
decorator sends anonymous visitors there, with ``next`` back to the admin), so allauth's rate limits,
lockout and two-factor step apply. Inside, a staff account must also have two-factor authentication
enabled; without it the admin answers 403 with a page that says where to turn it on.

Where the admin lives is a setting (``ADMIN_URL``), and ``ADMIN_ENABLED=False`` leaves it out of the URLs
entirely (spa_referrals/urls.py).
"""

from django.contrib.admin import AdminSite
from django.contrib.admin.apps import AdminConfig
from django.http import HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext_lazy as _


def staff_has_two_factor(user):
    from allauth.mfa.utils import is_mfa_enabled

    return is_mfa_enabled(user)


class SecureAdminSite(AdminSite):
    site_header = _("Spa Referrals administration")
    site_title = _("Spa Referrals admin")

    def has_permission(self, request):
        return super().has_permission(request) and staff_has_two_factor(request.user)

    def login(self, request, extra_context=None):
        from allauth.account.decorators import secure_admin_login

        # Anonymous: to allauth's login with next=<this page>; signed in but not active staff: 403.
        return secure_admin_login(self._staff_without_access)(request)

    def _staff_without_access(self, request):
        if self.has_permission(request):
            return HttpResponseRedirect(reverse("admin:index", current_app=self.name))
        return render(request, "admin/two_factor_required.html", status=403)


class SecureAdminConfig(AdminConfig):
    default_site = "spa_referrals.admin_site.SecureAdminSite"
