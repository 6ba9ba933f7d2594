"""Where a webhook may go: the guard against server-side request forgery.

An owner types a URL and our servers post to it, so the URL must not reach into our own network: the cloud's
metadata service (169.254.169.254), the database, Redis, anything on loopback or a private range. The host is
resolved and every address it resolves to is checked — on save, and again at each delivery, whose connection
then goes to the address that was checked (``transport.py``), so a name that changes its answer between the
check and the connection (DNS rebinding) cannot slip through. Only ``http`` and ``https``; plain ``http`` only to
an address the operator allowed (a public receiver must use TLS: payloads may carry patient details).

``WEBHOOKS_ALLOW_PRIVATE_ADDRESSES`` lets an operator allow private, loopback, link-local and other non-public
unicast addresses (a receiver on the same network; the tests' local server). Multicast and unspecified
addresses are never a receiver.
"""

import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.conf import settings
from django.utils.translation import gettext as _

SCHEMES = {"http": 80, "https": 443}


class AddressRefused(Exception):
    """The URL may not be used; ``str(error)`` says why, in words for the owner."""


@dataclass(frozen=True)
class Target:
    """A checked URL: where to connect (``address``), and what to name in TLS and the Host header."""

    scheme: str
    host: str
    port: int
    path: str
    address: str


def _resolve(host, port):
    try:
        answers = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as error:
        raise AddressRefused(_("This host name could not be found. Check the address.")) from error
    addresses = []
    for _family, _type, _proto, _canonical, sockaddr in answers:
        if sockaddr[0] not in addresses:
            addresses.append(sockaddr[0])
    if not addresses:
        raise AddressRefused(_("This host name could not be found. Check the address."))
    return addresses


def _address(text):
    """The address as the ipaddress module sees it; an IPv4 address written as IPv6 (::ffff:a.b.c.d) as IPv4."""
    address = ipaddress.ip_address(text.split("%", 1)[0])  # an IPv6 zone (fe80::1%eth0) is not part of it
    if address.version == 6 and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def address_refusal(text, *, allow_private=None):
    """Why the address ``text`` may not receive webhooks, or None when it may."""
    allow_private = settings.WEBHOOKS_ALLOW_PRIVATE_ADDRESSES if allow_private is None else allow_private
    address = _address(text)
    if address.is_unspecified or address.is_multicast:
        return _("This address (%(address)s) cannot receive webhooks.") % {"address": text}
    if address.is_global or allow_private:
        return None
    return _("This address leads into a private network (%(address)s): webhooks go only to public addresses.") % {
        "address": text
    }


def url_checked(url):
    """Check ``url`` and resolve its host; returns the ``Target`` to connect to or raises ``AddressRefused``."""
    try:
        parts = urlsplit((url or "").strip())
        port = parts.port
    except ValueError as error:
        raise AddressRefused(_("Enter a valid web address.")) from error
    scheme = parts.scheme.lower()
    if scheme not in SCHEMES:
        raise AddressRefused(_("Use an https:// address."))
    if not parts.hostname:
        raise AddressRefused(_("Enter a valid web address."))
    if parts.username is not None or parts.password is not None:
        raise AddressRefused(_("Leave out the user name and password: the signature proves who is calling."))
    port = port or SCHEMES[scheme]
    addresses = _resolve(parts.hostname, port)
    for address in addresses:
        refusal = address_refusal(address)
        if refusal:
            raise AddressRefused(refusal)
    if scheme == "http" and any(_address(address).is_global for address in addresses):
        raise AddressRefused(_("Use an https:// address: webhooks to a public address are sent over TLS only."))
    path = parts.path or "/"
    if parts.query:
        path = f"{path}?{parts.query}"
    return Target(scheme=scheme, host=parts.hostname, port=port, path=path, address=addresses[0])
