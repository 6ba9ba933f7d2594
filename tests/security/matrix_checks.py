"""The tenant matrix's machinery: every route of the project, the actors, and the checks each answer must pass.

Routes come from the URL resolver, so a new view joins the matrix by existing. Each check appends to a
``WalkReport`` (tenancy_checks.py) instead of stopping at the first problem, so one run lists every hole;
the tests assert the list is empty, and the tests of the tests assert it is not when a protection is taken
away.
"""

import hashlib
import re
import uuid
from contextlib import contextmanager
from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import CharField, Exists, F, JSONField, OuterRef, TextField
from django.urls import get_resolver
from django_scopes import scopes_disabled

from spas.models import Membership, Role
from spas.tenancy import _minimum_role_of

from .tenancy_checks import PARAMETER, WalkReport, _walk, fill_route, tenant_models

METHODS = ("get", "post", "put", "patch", "delete")
LOGIN_URL = "/accounts/login/"
MISSING_SPA = "no-such-spa-anywhere"
UUID_CONVERTER = "uuid"

# Route prefixes and what part of the product they are. Anything else fails test_every_route_is_in_the_matrix.
KINDS = (
    ("s/<slug:spa_slug>/", "workspace"),
    ("portal/<slug:spa_slug>/", "portal"),
    ("api/", "api"),
    ("fhir/", "fhir"),  # FHIR R4 for clinic systems: the REST API's keys, in FHIR's dialect
    ("r/", "public"),  # /r/<code> and the box that types a code (/r/?code=)
    ("consent/", "public"),
    ("follow-up/", "public"),  # the patient's signed follow-up links (referrals/followup)
    ("portal-invitations/", "public"),
    ("invitations/", "public"),
    ("brand/", "public"),
    ("inbound/", "webhook"),  # providers' signed webhooks (referrals by email and text): the signature is the key
)
SITE_ROUTES = {"", "healthz", "spas/", "spas/new/"}  # no spa in the address: each user's own list, or none
EXCLUDED = {
    "accounts/": "django-allauth's sign-in, sign-up, password and 2FA pages: they show only the signed-in "
    "person's own account (tests/spas/test_accounts.py); no spa data is reachable there",
    "admin/": "Django's admin, for is_staff superusers only; test_the_admin_refuses_every_actor checks that "
    "no actor of the matrix gets in",
}

# Rows that change on reads by design, and are not tenant data someone could tamper with.
VOLATILE = {"referrals.ApiKey": {"last_used_at"}, "spas.User": {"last_login"}}
# Foreign keys to a user who must be a member of the row's spa (chosen in a form, not the actor).
MEMBER_FIELDS = {"owner", "assignee"}
UUID_TEXT = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


@dataclass
class Route:
    route: str
    kind: str
    name: str
    minimum_role: str
    params: list  # [(name, converter)]

    @property
    def uuid_params(self):
        return [name for name, converter in self.params if converter == UUID_CONVERTER]

    def path(self, values):
        if "^" in self.route:  # the API's catch-all re_path: any address under it
            return "/" + self.route.split("^", 1)[0] + "matrix-no-such-endpoint/"
        return fill_route(self.route, values)


def route_kind(route):
    for prefix in EXCLUDED:
        if route.startswith(prefix):
            return "excluded"
    if route in SITE_ROUTES:
        return "site"
    for prefix, kind in KINDS:
        if route.startswith(prefix):
            return kind
    return None


def all_routes():
    routes = []
    for route, pattern in _walk(get_resolver()):
        params = [(m.group("name"), m.group("converter") or "str") for m in PARAMETER.finditer(route)]
        routes.append(
            Route(
                route=route,
                kind=route_kind(route),
                name=pattern.name or "",
                minimum_role=_minimum_role_of(pattern.callback),
                params=params,
            )
        )
    return routes


def routes_of(kind):
    return [route for route in all_routes() if route.kind == kind]


# --- requests ------------------------------------------------------------------------------------------


def send(client, method, path, data=None, **extra):
    if method in ("get", "post"):
        return getattr(client, method)(path, data or {}, **extra)
    return getattr(client, method)(path, **extra)


def same_answer(first, second):
    return (
        first.status_code == second.status_code
        and first.content == second.content
        and first.get("Location") == second.get("Location")
    )


def describe(response):
    location = response.get("Location")
    return f"{response.status_code}" + (f" → {location}" if location else "")


def leaked(response, secrets):
    # The body only: a redirect's Location repeats the address the visitor typed, which is no leak.
    body = response.content.decode(errors="replace")
    return [secret for secret in secrets if secret and secret in body]


@contextmanager
def rolled_back():
    """Run a request and undo whatever it wrote, so the next one meets the same world."""
    with transaction.atomic():
        yield
        transaction.set_rollback(True)


# --- the database: nothing changed, nothing crosses tenants ---------------------------------------------


def _fingerprinted_models():
    return [*tenant_models(), get_user_model()]


def fingerprint(spa_ids=None):
    """{model label: (row count, hash of every row)} for every tenant model (of ``spa_ids``) and users."""
    state = {}
    with scopes_disabled():
        for model in _fingerprinted_models():
            label = model._meta.label
            ignored = VOLATILE.get(label, set())
            names = [f.attname for f in model._meta.concrete_fields if f.name not in ignored]
            rows = model._base_manager.all()
            if spa_ids is not None and any(f.name == "spa" for f in model._meta.concrete_fields):
                rows = rows.filter(spa_id__in=spa_ids)
            values = list(rows.order_by("pk").values_list(*names))
            state[label] = (len(values), hashlib.sha256(repr(values).encode()).hexdigest())
    return state


def changes(before, after):
    """Labels of the models whose rows differ, with the counts: ["referrals.Referral 3→4", …]."""
    return [
        f"{label} {before[label][0]}→{after[label][0]}" for label in sorted(before) if before[label] != after[label]
    ]


def cross_tenant_references():
    """Every row pointing at another spa's row, or at a user who is no member of its spa as owner/assignee."""
    problems = []
    tenant = set(tenant_models())
    user_model = get_user_model()
    with scopes_disabled():
        for model in tenant:
            rows = model._base_manager.all()
            for field in model._meta.concrete_fields:
                if not field.is_relation or field.name == "spa":
                    continue
                pointing = rows.exclude(**{field.attname: None})
                if field.related_model in tenant:
                    bad = pointing.exclude(**{f"{field.name}__spa_id": F("spa_id")})
                elif field.related_model is user_model and field.name in MEMBER_FIELDS:
                    member = Membership._base_manager.filter(spa_id=OuterRef("spa_id"), user_id=OuterRef(field.attname))
                    bad = pointing.exclude(Exists(member))
                else:
                    continue
                for pk in bad.values_list("pk", flat=True)[:5]:
                    problems.append(f"{model._meta.label} #{pk}.{field.name} points into another spa")
            for m2m in model._meta.many_to_many:
                if m2m.related_model in tenant:
                    bad = rows.filter(**{f"{m2m.name}__isnull": False}).exclude(**{f"{m2m.name}__spa_id": F("spa_id")})
                    for pk in bad.values_list("pk", flat=True)[:5]:
                        problems.append(f"{model._meta.label} #{pk}.{m2m.name} lists another spa's rows")
    return problems


def identifiers_of(spa):
    """Every public id (UUID) of the spa's rows, as text."""
    ids = set()
    with scopes_disabled():
        for model in tenant_models():
            if any(f.name == "public_id" for f in model._meta.concrete_fields):
                ids.update(
                    str(value) for value in model._base_manager.filter(spa=spa).values_list("public_id", flat=True)
                )
    return ids


def rows_mentioning(spa, identifiers):
    """Rows of ``spa`` whose texts or JSON name one of ``identifiers`` (another spa's ids, say)."""
    found = []
    with scopes_disabled():
        for model in tenant_models():
            names = [f.attname for f in model._meta.concrete_fields if isinstance(f, CharField | TextField | JSONField)]
            if not names:
                continue
            for row in model._base_manager.filter(spa=spa).values_list("pk", *names):
                text = " ".join(str(value) for value in row[1:] if value)
                hits = set(UUID_TEXT.findall(text.lower())) & identifiers
                if hits:
                    found.append(f"{model._meta.label} #{row[0]} mentions {sorted(hits)}")
    return found


# --- the walks -------------------------------------------------------------------------------------------


def walk_denied(report, *, routes, client, actor, values, expect, method_list=METHODS, secrets=(), reference=None):
    """Send every method to every route as ``actor``; each answer must be what ``expect`` names and change nothing.

    ``expect``: ``"login"`` (a redirect to sign in), ``"same-as-missing-spa"`` (byte-identical to the answer for
    a spa that does not exist, and a 404), ``"forbidden"`` (403).
    """
    for route in routes:
        path = route.path(values)
        before = fingerprint()
        for method in method_list:
            report.visited.append((actor, method.upper(), path))
            response = send(client, method, path)
            label = f"{actor} {method.upper()} {path}"
            if expect == "login":
                if response.status_code != 302 or not response["Location"].startswith(LOGIN_URL):
                    report.fail(f"{label} → {describe(response)}, expected a redirect to sign in")
            elif expect == "same-as-missing-spa":
                missing = send(client, method, route.path({**values, "spa_slug": MISSING_SPA}))
                if response.status_code != 404:
                    report.fail(f"{label} → {describe(response)}, expected 404")
                elif not same_answer(response, missing):
                    report.fail(f"{label}: the 404 differs from the one for a spa that does not exist")
            elif expect == "forbidden" and response.status_code != 403:
                report.fail(f"{label} → {describe(response)}, expected 403 (role too low)")
            shown = leaked(response, secrets)
            if shown:
                report.fail(f"{label} shows {shown}")
        after = fingerprint()
        if after != before:
            report.fail(f"{actor} on {path} changed rows: {changes(before, after)}")
    return report


def id_variants(route, own, foreign):
    """(label, values) with one UUID parameter at a time taken from ``foreign``, then all of them at once."""
    names = [name for name in route.uuid_params if name in foreign]
    variants = [(name, {**own, name: foreign[name]}) for name in names]
    if len(names) > 1:
        variants.append(("all ids", {**own, **{name: foreign[name] for name in names}}))
    return variants


def walk_foreign_ids(
    report, *, routes, client, actor, own, foreign, missing_id, secrets, method_list=METHODS, allowed_status=None
):
    """Put another tenant's ids into the URLs of ``actor``'s own spa (or practice).

    Each answer must be byte-identical to the one for a random UUID in the same place, must not be a success
    (2xx) nor show the other tenant's ``secrets``, and nothing may change in the database.
    """
    for route in routes:
        for label, values in id_variants(route, own, foreign):
            missing_values = {**values}
            for name in route.uuid_params:
                if values[name] != own.get(name):
                    missing_values[name] = missing_id
            path, missing_path = route.path(values), route.path(missing_values)
            before = fingerprint()
            for method in method_list:
                report.visited.append((actor, method.upper(), path))
                response = send(client, method, path)
                missing = send(client, method, missing_path)
                what = f"{actor} {method.upper()} {path} (foreign {label})"
                if not same_answer(response, missing):
                    report.fail(
                        f"{what} → {describe(response)}, but a missing id → {describe(missing)}: answers differ"
                    )
                if 200 <= response.status_code < 300 and (allowed_status is None or not allowed_status(route, method)):
                    report.fail(f"{what} → {response.status_code}: a foreign object was served")
                shown = leaked(response, secrets)
                if shown:
                    report.fail(f"{what} shows {shown}")
            after = fingerprint()
            if after != before:
                report.fail(f"{actor} on {path} (foreign {label}) changed rows: {changes(before, after)}")
    return report


def walk_api_unauthorised(report, *, routes, client, key_label, reference, values, content_type="application/json"):
    """Every method of every /api/v1/ (or /fhir/r4/) route without a valid key: a 401 in ``content_type``, and for a
    revoked key the very answer a never-issued key gets (nobody learns that a key once existed). Nothing changes."""
    for route in routes:
        path = route.path(values)
        before = fingerprint()
        for method in METHODS:
            report.visited.append((key_label, method.upper(), path))
            response = send(client, method, path)
            if response.status_code != 401 or content_type not in response.get("Content-Type", ""):
                report.fail(f"{key_label} {method.upper()} {path} → {describe(response)}, expected a JSON 401")
            if reference is not None and not same_answer(response, send(reference, method, path)):
                report.fail(f"{key_label} {method.upper()} {path}: the answer differs from a never-issued key's")
        after = fingerprint()
        if after != before:
            report.fail(f"{key_label} on {path} changed rows: {changes(before, after)}")
    return report


def role_above_staff(route):
    return route.minimum_role != Role.STAFF


def new_report():
    return WalkReport()


def random_id():
    return uuid.uuid4()
