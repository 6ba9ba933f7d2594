"""Web hardening middleware: what Django and django-csp have no setting for.

- ``ResponseHardeningMiddleware``: ``Cache-Control: private, no-store`` on every response a view produces
  (pages with health information must not be kept by the browser or a proxy; see
  settings/security.py for the exempt prefixes), no Content-Security-Policy on PDFs (Chrome's viewer
  would be blocked by ``object-src 'none'``), and hashes for the inline bootstrap of the few pages
  listed in ``CSP_HASH_INLINE_PATHS`` (Swagger UI).
- ``SessionLifetimeMiddleware``: a signed-in session ends after ``SESSION_IDLE_TIMEOUT_MINUTES`` without
  a request and ``SESSION_ABSOLUTE_HOURS`` after sign-in; a session whose user can no longer sign in
  (deactivated, deleted) is flushed; an htmx request that would be sent to the login page makes the
  whole page go there instead of swapping the login form into a fragment.
"""

import base64
import hashlib
import re
import time
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import SESSION_KEY, logout, user_logged_in
from django.contrib.auth.views import redirect_to_login
from django.dispatch import receiver
from django.http import HttpResponse
from django.shortcuts import resolve_url
from django.utils.translation import gettext as _

SESSION_STARTED = "_hardening_auth_started"
SESSION_LAST_SEEN = "_hardening_last_seen"
# The last-seen stamp is rewritten at most once a minute, not on every request (each write saves the
# session row). A session may therefore end up to a minute before the idle limit, never after it.
LAST_SEEN_GRANULARITY_SECONDS = 60

_INLINE_SCRIPT = re.compile(r"<script(?![^>]*\ssrc=)[^>]*>(.*?)</script>", re.DOTALL | re.IGNORECASE)
_INLINE_STYLE = re.compile(r"<style[^>]*>(.*?)</style>", re.DOTALL | re.IGNORECASE)


def _sha256_source(text):
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode() + "'"


def inline_hashes(html):
    """CSP sources for each inline <script> and <style> element of ``html``: (scripts, styles)."""
    scripts = [_sha256_source(body) for body in _INLINE_SCRIPT.findall(html) if body.strip()]
    styles = [_sha256_source(body) for body in _INLINE_STYLE.findall(html) if body.strip()]
    return scripts, styles


class ResponseHardeningMiddleware:
    """Sits inside django-csp's middleware, so the per-response policy parts set here are used."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        path = request.path_info
        exempt = path.startswith(tuple(settings.NO_STORE_EXEMPT_PREFIXES))
        if not exempt and "no-store" not in response.get("Cache-Control", ""):
            # Replaces whatever else a view chose (e.g. a thumbnail's "private, max-age=300").
            response["Cache-Control"] = "private, no-store"
        content_type = response.get("Content-Type", "")
        if content_type.startswith("application/pdf"):
            response._csp_exempt = True
        elif (
            path in settings.CSP_HASH_INLINE_PATHS
            and not request.META.get("QUERY_STRING")
            and content_type.startswith("text/html")
            and not getattr(response, "streaming", False)
        ):
            scripts, styles = inline_hashes(response.content.decode(response.charset or "utf-8"))
            response._csp_update = {"script-src": scripts or None, "style-src": styles or None}
        return response


def _stamp(session, now):
    session[SESSION_STARTED] = now
    session[SESSION_LAST_SEEN] = now


@receiver(user_logged_in, dispatch_uid="infra.security.stamp_session")
def _stamp_on_login(sender, request, user, **kwargs):
    # Every sign-in starts a new absolute lifetime.
    if request is not None and hasattr(request, "session"):
        _stamp(request.session, int(time.time()))


class SessionLifetimeMiddleware:
    """After AuthenticationMiddleware and MessageMiddleware."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        self._enforce(request)
        response = self.get_response(request)
        if request.headers.get("HX-Request") and response.status_code in (301, 302):
            response = self._full_page_login_redirect(request, response)
        return response

    def _enforce(self, request):
        session = getattr(request, "session", None)
        user = getattr(request, "user", None)
        if session is None or user is None:
            return
        if not user.is_authenticated:
            # The session names a user, but the auth backend refused them: deactivated or deleted.
            if session.get(SESSION_KEY) is not None:
                session.flush()
            return
        now = int(time.time())
        started = session.get(SESSION_STARTED)
        last_seen = session.get(SESSION_LAST_SEEN)
        if started is None or last_seen is None:
            _stamp(session, now)  # signed in before this middleware existed, or by force_login
            return
        idle_limit = settings.SESSION_IDLE_TIMEOUT_MINUTES * 60
        absolute_limit = settings.SESSION_ABSOLUTE_HOURS * 3600
        if now - last_seen >= idle_limit:
            self._sign_out(
                request,
                _("You were signed out after %(minutes)d minutes without activity. Please sign in again.")
                % {"minutes": settings.SESSION_IDLE_TIMEOUT_MINUTES},
            )
        elif now - started >= absolute_limit:
            self._sign_out(
                request,
                _("You were signed out: a session lasts at most %(hours)d hours. Please sign in again.")
                % {"hours": settings.SESSION_ABSOLUTE_HOURS},
            )
        elif now - last_seen >= LAST_SEEN_GRANULARITY_SECONDS:
            session[SESSION_LAST_SEEN] = now

    @staticmethod
    def _sign_out(request, why):
        # The message survives logout (it lives in the new session or cookie) and shows on the login page.
        logout(request)
        messages.info(request, why)

    @staticmethod
    def _full_page_login_redirect(request, response):
        """An htmx request sent to the login page: make the browser go there, back to the page it was on."""
        login_path = urlsplit(resolve_url(settings.LOGIN_URL)).path
        location = urlsplit(response.get("Location", ""))
        if location.path != login_path or location.netloc:
            return response
        current = urlsplit(request.headers.get("HX-Current-URL", ""))
        same_origin = current.netloc == request.get_host()
        next_url = (current.path + (f"?{current.query}" if current.query else "")) if same_origin else "/"
        answer = HttpResponse(status=204)
        answer["HX-Redirect"] = redirect_to_login(next_url, login_path)["Location"]
        answer["Cache-Control"] = "private, no-store"
        return answer
