"""The two places a prospect search looks, behind one interface: ``source.search(query) -> [Candidate]``.

``RegistryApiSource`` asks the registry's public JSON API (https://npiregistry.cms.hhs.gov/api/, version 2.1):
answers are cached, requests are spaced to a few per second per process, and an unreachable registry is a clear
message rather than an error page. ``LocalFileSource`` reads ``NppesProvider``, loaded from the monthly data file.
Both keep only providers whose primary taxonomy is one of the specialty's codes, and a radius search keeps only
those whose ZIP code's centre lies within the radius of the searched ZIP code's.
"""

import hashlib
import json
import threading
import time
from functools import lru_cache
from urllib.error import URLError
from urllib.parse import urlencode
from urllib.request import Request, urlopen

import zipcodes
from django.conf import settings
from django.core.cache import cache
from django.utils.translation import gettext as _

from infra.geo import bounding_box, distance_km, zip5, zip_centroid

from ..models import NppesProvider
from .candidates import Candidate, title_case
from .taxonomy import search_description, taxonomy_codes

MAX_RADIUS_KM = 100


class SourceUnavailable(Exception):
    """The source cannot answer now (the registry is down or slow); the message says what to do."""


class SearchError(ValueError):
    """The search itself is wrong (the registry refused it); the message says why."""


@lru_cache(maxsize=256)
def zips_within(postal_code, radius_km):
    """{ZIP code: km from ``postal_code``'s centre} for every US ZIP code whose centre lies within ``radius_km``
    (``postal_code`` itself included, at 0). Cached: callers read it, never change it."""
    origin = zip_centroid(postal_code)
    if origin is None:
        return {}
    south, north, west, east = bounding_box(*origin, radius_km)
    found = {zip5(postal_code): 0.0}
    for entry in zipcodes.list_all():
        lat, lon = float(entry["lat"]), float(entry["long"])
        if south <= lat <= north and west <= lon <= east:
            away = distance_km(*origin, lat, lon)
            if away <= radius_km:
                found.setdefault(entry["zip_code"], away)
    return found


MAX_PREFIXES = 10  # registry requests per radius search at most: the areas nearest the searched ZIP code first


def zip_prefixes_within(query):
    """The 3-digit ZIP areas with a ZIP code inside the query's circle, nearest first, at most MAX_PREFIXES."""
    home = zip5(query.postal_code)[:3]
    nearest = {home: -1.0}  # the searched ZIP code's own area always, first
    for code, away in zips_within(zip5(query.postal_code), query.radius_km).items():
        nearest[code[:3]] = min(away, nearest.get(code[:3], away))
    return sorted(nearest, key=lambda prefix: (nearest[prefix], prefix))[:MAX_PREFIXES]


def _keep(candidates, query, codes):
    """The candidates of the specialty, inside the area, each measured from the searched ZIP code."""
    codes = set(codes)
    origin = zip_centroid(query.postal_code)
    kept = []
    for candidate in candidates:
        if candidate.taxonomy_code not in codes:
            continue
        if origin is not None:
            candidate.measure_from(*origin)
            if query.radius_km and (candidate.distance_km is None or candidate.distance_km > query.radius_km):
                continue
        kept.append(candidate)
    return kept


class LocalFileSource:
    """The monthly NPPES data file, loaded into ``NppesProvider`` by ``manage.py nppes_load``."""

    name = "file"

    def search(self, query):
        codes = taxonomy_codes(query.specialty)
        providers = NppesProvider.objects.filter(taxonomy_code__in=codes)
        if query.postal_code:
            providers = providers.filter(postal_code__in=list(zips_within(zip5(query.postal_code), query.radius_km)))
        else:
            providers = providers.filter(city__iexact=query.city.strip(), state__iexact=query.state.strip())
        candidates = [_from_provider(provider) for provider in providers.order_by("npi")[: query.limit * 5]]
        return _keep(candidates, query, codes)[: query.limit]


def _from_provider(provider):
    address = ", ".join(part for part in (provider.address_1, provider.address_2) if part)
    return Candidate(
        npi=provider.npi,
        entity_type=provider.entity_type,
        organization_name=title_case(provider.organization_name),
        first_name=title_case(provider.first_name),
        last_name=title_case(provider.last_name),
        credential=provider.credential.replace(".", "").upper(),
        address=title_case(address),
        city=title_case(provider.city),
        state=provider.state.upper()[:2],
        postal_code=provider.postal_code,
        phone=provider.phone,
        taxonomy_code=provider.taxonomy_code,
    )


class _RateLimit:
    """At most ``per_second`` calls per second in this process: each call waits for its turn."""

    def __init__(self):
        self._lock = threading.Lock()
        self._next_at = 0.0

    def wait(self, per_second):
        with self._lock:
            now = time.monotonic()
            delay = max(self._next_at - now, 0.0)
            self._next_at = max(now, self._next_at) + 1.0 / per_second
        if delay:
            time.sleep(delay)


_rate_limit = _RateLimit()


class RegistryApiSource:
    """The registry's public JSON API, cached in Django's cache and rate-limited per process."""

    name = "api"
    unreachable = _("The NPI registry cannot be reached right now; try again later or use the local NPPES file.")

    def search(self, query):
        codes = taxonomy_codes(query.specialty)
        base = {"version": "2.1", "taxonomy_description": search_description(query.specialty), "limit": 200}
        if query.postal_code and query.radius_km:
            # The API matches a ZIP prefix with a trailing "*": one request per 3-digit area the circle touches
            # (02116's 15 km reach 024, Brookline and Newton, as well as 021), then the radius is applied here.
            asks = [{**base, "postal_code": f"{prefix}*"} for prefix in zip_prefixes_within(query)]
        elif query.postal_code:
            asks = [{**base, "postal_code": zip5(query.postal_code)}]
        else:
            asks = [{**base, "city": query.city.strip(), "state": query.state.strip().upper()}]
        by_npi = {}
        for params in asks:
            for candidate in self._ask(params):
                by_npi.setdefault(candidate.npi, candidate)
        return _keep(list(by_npi.values()), query, codes)[: query.limit]

    def _ask(self, params):
        payload = self._fetch(params)
        if payload.get("Errors"):
            messages = "; ".join(str(error.get("description", "")) for error in payload["Errors"])
            raise SearchError(_("The NPI registry refused the search: %(reason)s") % {"reason": messages[:300]})
        candidates = [_from_api_result(result) for result in payload.get("results") or []]
        return [candidate for candidate in candidates if candidate is not None]

    def _fetch(self, params):
        url = f"{settings.NPI_REGISTRY_URL}?{urlencode(params)}"
        key = "npi-registry:" + hashlib.sha256(url.encode()).hexdigest()
        payload = cache.get(key)
        if payload is not None:
            return payload
        _rate_limit.wait(settings.NPI_REGISTRY_REQUESTS_PER_SECOND)
        request = Request(url, headers={"Accept": "application/json", "User-Agent": "spa-referrals"})  # noqa: S310
        try:
            with urlopen(request, timeout=settings.NPI_REGISTRY_TIMEOUT) as response:  # noqa: S310 - a setting
                payload = json.loads(response.read(20_000_000))
        except (URLError, TimeoutError, OSError, ValueError) as error:
            raise SourceUnavailable(str(self.unreachable)) from error
        if not isinstance(payload, dict):
            raise SourceUnavailable(str(self.unreachable))
        if not payload.get("Errors"):
            cache.set(key, payload, settings.NPI_REGISTRY_CACHE_SECONDS)
        return payload


def _location(result):
    addresses = result.get("addresses") or []
    for address in addresses:
        if address.get("address_purpose") == "LOCATION":
            return address
    return addresses[0] if addresses else {}


def _primary_code(result):
    taxonomies = result.get("taxonomies") or []
    for taxonomy in taxonomies:
        if taxonomy.get("primary"):
            return taxonomy.get("code") or ""
    return (taxonomies[0].get("code") or "") if taxonomies else ""


def _from_api_result(result):
    """A Candidate from one of the API's results, or None when the result is not a usable provider."""
    if not isinstance(result, dict) or len(str(result.get("number") or "")) != 10:
        return None
    npi = str(result["number"])
    basic = result.get("basic") or {}
    location = _location(result)
    address = ", ".join(part for part in (location.get("address_1"), location.get("address_2")) if part)
    return Candidate(
        npi=npi,
        entity_type="1" if result.get("enumeration_type") == "NPI-1" else "2",
        organization_name=title_case(basic.get("organization_name", "")),
        first_name=title_case(basic.get("first_name", "")),
        last_name=title_case(basic.get("last_name", "")),
        credential=(basic.get("credential") or "").replace(".", "").upper()[:60],
        address=title_case(address),
        city=title_case(location.get("city", "")),
        state=(location.get("state") or "").upper()[:2],
        postal_code=zip5((location.get("postal_code") or "")[:5]),
        phone=location.get("telephone_number") or "",
        taxonomy_code=_primary_code(result),
    )


def prospect_source():
    """The source this deployment searches (settings.NPI_REGISTRY_SOURCE)."""
    return LocalFileSource() if settings.NPI_REGISTRY_SOURCE == "file" else RegistryApiSource()
