"""REST API authentication: ``Authorization: Bearer <key>`` names the spa and the practice."""

from django.contrib.auth.models import AnonymousUser
from django.utils.translation import gettext_lazy as _
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication, get_authorization_header
from rest_framework.permissions import BasePermission

from ..models import ApiKey
from .services import api_key_for_raw

BEARER = b"bearer"


class ApiKeyAuthentication(BaseAuthentication):
    """A practice's API key as a bearer token. ``request.auth`` is the ApiKey; there is no user.

    The user is explicitly anonymous so that a browser session that happens to be signed in is
    never credited with (or audited for) what the key does.
    """

    www_authenticate_realm = "api"

    def authenticate(self, request):
        header = get_authorization_header(request).split()
        if not header or header[0].lower() != BEARER:
            return None
        if len(header) != 2:
            raise exceptions.AuthenticationFailed(_("Send the API key as “Authorization: Bearer <key>”."))
        try:
            raw_key = header[1].decode("ascii")
        except UnicodeDecodeError:
            raise exceptions.AuthenticationFailed(_("Invalid API key.")) from None
        api_key = api_key_for_raw(raw_key)
        if api_key is None:
            raise exceptions.AuthenticationFailed(_("Invalid or revoked API key."))
        return AnonymousUser(), api_key

    def authenticate_header(self, request):
        # Makes DRF answer 401 (not 403) when the key is missing or wrong.
        return f'Bearer realm="{self.www_authenticate_realm}"'


class HasApiKey(BasePermission):
    message = _("Send your practice's API key as “Authorization: Bearer <key>”.")

    def has_permission(self, request, view):
        return isinstance(request.auth, ApiKey)


class ApiKeyAuthenticationScheme(OpenApiAuthenticationExtension):
    target_class = ApiKeyAuthentication
    name = "ApiKeyAuth"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            "bearerFormat": "API key (sk_…)",
            "description": "A practice's API key, created by the spa's owner under Settings → API keys.",
        }
