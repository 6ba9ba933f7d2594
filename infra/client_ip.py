"""The client's IP address, correct behind a known number of reverse proxies.

With TRUSTED_PROXY_COUNT = N, the Nth address from the right of X-Forwarded-For is the
client (each trusted proxy appends the address it saw). Anything left of it can be forged
by the client and is ignored. A header shorter than expected falls back to REMOTE_ADDR
rather than failing the request.
"""

import ipaddress

from django.conf import settings


def _clean(value):
    value = (value or "").strip()
    if value.startswith("[") and "]" in value:
        value = value[1 : value.index("]")]
    try:
        return str(ipaddress.ip_address(value))
    except ValueError:
        return None


def client_ip(request):
    if request is None:
        return None
    proxies = getattr(settings, "TRUSTED_PROXY_COUNT", 0)
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    if proxies > 0 and forwarded:
        hops = [hop for hop in forwarded.split(",") if hop.strip()]
        if len(hops) >= proxies:
            ip = _clean(hops[-proxies])
            if ip:
                return ip
    return _clean(request.META.get("REMOTE_ADDR"))
