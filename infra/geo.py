"""Where a place is, from its postal code, and how far apart two places are.

Coordinates come from the centre of a US ZIP code (the ``zipcodes`` package bundles the table, so no geocoding
service is called and nothing leaves the machine). A ZIP centroid is good to a few kilometres, which is what
"practices within 15 km of the spa" needs; it is not a street address and is never shown as one.

Only US ZIP codes are known: any other country, or a code the table lacks, has no coordinates, and distances to it
are unknown (``None``) rather than guessed.
"""

import math
import re
from decimal import Decimal
from functools import lru_cache

import zipcodes

EARTH_RADIUS_KM = 6371.0088  # the mean radius (IUGG)
_ZIP = re.compile(r"^\s*([0-9]{5})(?:-?[0-9]{4})?\s*$")


def zip5(postal_code):
    """The five-digit ZIP in a US postal code ("02116-1234" → "02116"), or "" when it is not one."""
    match = _ZIP.match(postal_code or "")
    return match.group(1) if match else ""


@lru_cache(maxsize=4096)
def _centroid(zip_code):
    # zipcodes loads its whole table on the first call (about a second); later calls are dictionary-fast.
    found = zipcodes.matching(zip_code)
    if not found:
        return None
    return Decimal(found[0]["lat"]).quantize(Decimal("0.000001")), Decimal(found[0]["long"]).quantize(
        Decimal("0.000001")
    )


def zip_centroid(postal_code, country="US"):
    """(latitude, longitude) of a US ZIP code's centre as Decimals, or None when unknown."""
    if country != "US":
        return None
    zip_code = zip5(postal_code)
    return _centroid(zip_code) if zip_code else None


def distance_km(lat1, lon1, lat2, lon2):
    """Great-circle (haversine) distance in kilometres; None when either point is unknown."""
    if None in (lat1, lon1, lat2, lon2):
        return None
    phi1, phi2 = math.radians(float(lat1)), math.radians(float(lat2))
    delta_phi = phi2 - phi1
    delta_lambda = math.radians(float(lon2) - float(lon1))
    a = math.sin(delta_phi / 2) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(delta_lambda / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(a)))


def bounding_box(lat, lon, radius_km):
    """A latitude/longitude box that contains the circle, for a first cut in SQL before the exact distance."""
    lat, lon = float(lat), float(lon)
    delta_lat = math.degrees(radius_km / EARTH_RADIUS_KM)
    cos_lat = max(math.cos(math.radians(lat)), 0.01)
    delta_lon = math.degrees(radius_km / (EARTH_RADIUS_KM * cos_lat))
    return lat - delta_lat, lat + delta_lat, lon - delta_lon, lon + delta_lon


def fill_coordinates(place, update_fields, *, country=None):
    """Set ``place.latitude``/``longitude`` from its ``postal_code`` before a save; returns the update_fields to use.

    Called from ``save()`` of a model with those three fields: a value derived from the postal code, like a phone's
    comparison key, so it is kept in step however the row is saved (a service, a form, a factory, the admin).
    A save that names its fields and leaves out the postal code leaves the coordinates alone.
    """
    if update_fields is not None and "postal_code" not in update_fields:
        return update_fields
    centroid = zip_centroid(place.postal_code, country or getattr(place, "country", "US"))
    place.latitude, place.longitude = centroid or (None, None)
    if update_fields is None:
        return None
    return {*update_fields, "latitude", "longitude"}
