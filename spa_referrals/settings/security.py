"""Web hardening settings (imported at the end of base.py): headers, cookies, sessions, CSP, lockout.

One policy, read top to bottom. What only holds behind HTTPS (HSTS, Secure cookies, the HTTPS redirect)
is switched on by production.py; everything else applies in every environment, so tests and `make run`
see the same headers as production. The middleware that enforces the parts Django has no setting for
lives in infra/security.py.
"""

import environ as _environ

_env = _environ.Env()
_SELF = "'self'"
_NONE = "'none'"

# --- Client IP behind proxies (rate limits, audit events) --------------------------------------------
# How many reverse proxies (load balancer, nginx) stand in front of the app; client IPs for audit events
# and rate limits are the Nth address from the right of X-Forwarded-For (infra/client_ip.py).
# Anything left of the trusted hops is the client's own claim and never keys a limit.
TRUSTED_PROXY_COUNT = _env.int("TRUSTED_PROXY_COUNT", default=0)
# allauth's own reading of X-Forwarded-For, for any allauth code that bypasses the adapter's
# get_client_ip (spas.adapters.AccountAdapter uses client_ip above).
ALLAUTH_TRUSTED_PROXY_COUNT = TRUSTED_PROXY_COUNT

# --- The admin -------------------------------------------------------------------------------------------
# Django's admin signs in through allauth and needs two-factor authentication (spa_referrals/admin_site.py).
# Its address is ADMIN_URL (a path like "ops-7f3k/"); ADMIN_ENABLED=False removes it from the URLs.
ADMIN_ENABLED = _env.bool("ADMIN_ENABLED", default=True)
ADMIN_URL = _env.str("ADMIN_URL", default="admin/").strip().strip("/") + "/"
if ADMIN_URL == "/":
    from django.core.exceptions import ImproperlyConfigured

    raise ImproperlyConfigured("ADMIN_URL must be a path such as admin/ (or set ADMIN_ENABLED=False).")

# --- Headers -------------------------------------------------------------------------------------------
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
# Permissions-Policy (django-permissions-policy, before WhiteNoise so static files carry it too): no page
# of ours uses the camera, microphone, location, payments or USB, so no page (or injected frame) may ask.
PERMISSIONS_POLICY = {
    "camera": [],
    "geolocation": [],
    "microphone": [],
    "payment": [],
    "usb": [],
}

# Content-Security-Policy (django-csp, csp.middleware.CSPMiddleware): scripts only from our own origin —
# no 'unsafe-inline', no 'unsafe-eval', no inline event handlers (app.js binds behaviour by data-
# attributes; htmx is told not to eval or inject styles by the htmx-config meta in templates/base.html).
# Styles: <link> stylesheets from our origin only (no <style> elements); style="" attributes are allowed
# (style-src-attr) because templates set per-spa brand colours (--brand) and progress-bar widths that
# way, htmx swaps such markup in, and Bootstrap's components set element styles. A style attribute can
# not run script. /api/docs/ (Swagger UI) gets hashes of its own inline bootstrap added per response
# (infra/security.py); PDFs are sent without a policy (Chrome's viewer would be blocked by it).
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [_SELF],
        "script-src": [_SELF],
        "script-src-attr": [_NONE],
        "style-src": [_SELF],
        "style-src-attr": ["'unsafe-inline'"],
        "img-src": [_SELF, "data:"],
        "font-src": [_SELF],
        "connect-src": [_SELF],
        "object-src": [_NONE],
        "base-uri": [_NONE],
        "form-action": [_SELF],
        "frame-ancestors": [_NONE],
    },
}
# Exact paths whose inline <script>/<style> elements get sha256 hashes in that response's policy. Only
# pages that reflect nothing from the request qualify (Swagger UI's page is built from settings alone),
# and only when requested without a query string.
CSP_HASH_INLINE_PATHS = ("/api/docs/",)

# --- Cookies -------------------------------------------------------------------------------------------
# Production settings add Secure to both (SESSION_COOKIE_SECURE, CSRF_COOKIE_SECURE) and HSTS.
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
# No script reads the CSRF cookie: htmx sends the token from hx-headers, forms from the hidden input.
CSRF_COOKIE_HTTPONLY = True
CSRF_COOKIE_SAMESITE = "Lax"

# --- Sessions ------------------------------------------------------------------------------------------
# A signed-in session ends after SESSION_IDLE_TIMEOUT_MINUTES without a request, and in any case
# SESSION_ABSOLUTE_HOURS after sign-in, however active (infra.security.SessionLifetimeMiddleware).
SESSION_IDLE_TIMEOUT_MINUTES = _env.int("SESSION_IDLE_TIMEOUT_MINUTES", default=30)
SESSION_ABSOLUTE_HOURS = _env.int("SESSION_ABSOLUTE_HOURS", default=12)
# The cookie never outlives the absolute lifetime either.
SESSION_COOKIE_AGE = SESSION_ABSOLUTE_HOURS * 3600

# --- Caching of pages with health information ------------------------------------------------------------
# Every response produced by a view carries Cache-Control: no-store (infra.security
# .NoStoreMiddleware): referral pages, the inbox, outcome reports, consent and patient-rights pages,
# the portal, the landing page's thanks/revoke pages, documents and downloads, the API. Deny by default
# means a new page with patient data is covered without anyone remembering to. Exempt: these prefixes,
# which only ever serve public, PHI-free content and set their own caching (spa logos).
# Static files never reach it (WhiteNoise answers first, with its own caching).
NO_STORE_EXEMPT_PREFIXES = ("/brand/",)
