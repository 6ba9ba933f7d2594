"""Reusable tenancy checks. Later issues inherit them automatically: new models and new
workspace URLs are picked up without anyone having to remember to add a test.
"""

import re
from dataclasses import dataclass, field

from django.apps import apps
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver
from django_scopes import ScopeError

WORKSPACE_ROUTE_PREFIX = "s/<slug:spa_slug>/"
PARAMETER = re.compile(r"<(?:(?P<converter>[^>:]+):)?(?P<name>[^>]+)>")


def tenant_models():
    """Every installed model with a field named ``spa``: the tenant-owned ones."""
    return [model for model in apps.get_models() if any(f.name == "spa" for f in model._meta.get_fields())]


def unscoped_models(models):
    """Models whose default manager answers a query when no tenant scope is active (they would leak)."""
    leaking = []
    for model in models:
        for manager in {model._default_manager, getattr(model, "objects", model._default_manager)}:
            try:
                manager.all()  # a scoped manager raises here, before any SQL
            except ScopeError:
                continue
            leaking.append(model)
            break
    return leaking


def _walk(resolver, prefix=""):
    for entry in resolver.url_patterns:
        route = prefix + str(entry.pattern)
        if isinstance(entry, URLResolver):
            yield from _walk(entry, route)
        elif isinstance(entry, URLPattern):
            yield route, entry


def workspace_routes():
    """(route, pattern) for every URL pattern mounted under /s/<spa_slug>/."""
    return [(route, pattern) for route, pattern in _walk(get_resolver()) if route.startswith(WORKSPACE_ROUTE_PREFIX)]


def fill_route(route, values):
    """Turn ``s/<slug:spa_slug>/team/<uuid:member_id>/`` into a path using ``values`` by parameter name."""

    def substitute(match):
        name = match.group("name")
        if name not in values:
            raise KeyError(
                f"No sample value for URL parameter '{name}' in route '{route}'. "
                f"Add one to tests/security/samples.py so the tenancy walk covers this view."
            )
        return str(values[name])

    return "/" + PARAMETER.sub(substitute, route)


@dataclass
class WalkReport:
    visited: list = field(default_factory=list)
    failures: list = field(default_factory=list)

    def fail(self, message):
        self.failures.append(message)


def walk_workspace_as_outsiders(*, values, outsider_user, secrets, login_url="/accounts/login/"):
    """GET and POST every workspace URL of one spa as an anonymous user and as a member of another spa.

    Anonymous → redirect to login; outsider → 404 whose body is identical to the 404 for a spa
    that does not exist and contains none of the first spa's ``secrets``.
    """
    report = WalkReport()
    anonymous = Client(raise_request_exception=False)
    outsider = Client(raise_request_exception=False)
    outsider.force_login(outsider_user)
    missing_values = {**values, "spa_slug": "no-such-spa-anywhere"}
    for route, _pattern in workspace_routes():
        path = fill_route(route, values)
        missing_path = fill_route(route, missing_values)
        for method in ("get", "post"):
            report.visited.append((method.upper(), path))
            response = getattr(anonymous, method)(path)
            if response.status_code != 302 or not response["Location"].startswith(login_url):
                report.fail(f"anonymous {method.upper()} {path} → {response.status_code}, expected a redirect to login")
            response = getattr(outsider, method)(path)
            body = response.content.decode(errors="replace")
            if response.status_code != 404:
                report.fail(f"outsider {method.upper()} {path} → {response.status_code}, expected 404")
            leaked = [secret for secret in secrets if secret and secret in body]
            if leaked:
                report.fail(f"outsider {method.upper()} {path} shows {leaked}")
            missing = getattr(outsider, method)(missing_path)
            if response.status_code == 404 and missing.content != response.content:
                report.fail(f"outsider {method.upper()} {path}: 404 differs from the 404 for a missing spa")
    return report
