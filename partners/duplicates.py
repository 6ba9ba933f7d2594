"""Does a practice look like one the spa already has?

Matches on the same NPI, the same phone number (``infra.phones.phone_key``, read in the spa's
country: "617-555-0142 x3" is "+1 617 555 0142"), the same website domain, or a very similar
name in the same city. The index is built once per spa, so checking a 5,000-row import
compares each row only with the practices in its own city.
"""

import re
from dataclasses import dataclass
from difflib import SequenceMatcher

from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from infra.phones import DEFAULT_REGION, phone_key

from .models import Practice, website_domain

NAME_SIMILARITY_THRESHOLD = 0.86
_NOISE_WORDS = re.compile(r"\b(the|and|of|llc|pllc|pc|pa|inc|group|associates|clinic|center|centre|practice|medical)\b")


def _name_key(name):
    name = re.sub(r"[^a-z0-9 ]", " ", (name or "").lower().replace("&", " and "))
    return " ".join(_NOISE_WORDS.sub(" ", name).split())


def _city_key(city):
    return " ".join((city or "").lower().split())


@dataclass(frozen=True)
class DuplicateMatch:
    practice_id: int
    public_id: str
    name: str
    city: str
    reason: str


class DuplicateIndex:
    """The spa's practices indexed for duplicate checks; phone numbers are read in ``region`` (the spa's country)."""

    def __init__(self, practices, *, region=DEFAULT_REGION):
        self.region = region
        self.by_npi, self.by_phone, self.by_domain, self.by_city = {}, {}, {}, {}
        for practice in practices:
            self.add(practice)

    @classmethod
    def for_spa(cls, spa, exclude=None):
        queryset = Practice.objects.filter(spa=spa).only("id", "public_id", "name", "city", "npi", "phone", "website")
        if exclude is not None:
            queryset = queryset.exclude(pk=exclude.pk)
        return cls(queryset, region=spa.country)

    def add(self, practice):
        entry = (practice.pk, str(practice.public_id), practice.name, practice.city)
        if practice.npi:
            self.by_npi.setdefault(practice.npi, entry)
        phone = phone_key(practice.phone, self.region)
        if phone:
            self.by_phone.setdefault(phone, entry)
        domain = website_domain(practice.website)
        if domain:
            self.by_domain.setdefault(domain, entry)
        self.by_city.setdefault(_city_key(practice.city), []).append((_name_key(practice.name), entry))

    def matches(self, *, name="", city="", npi="", phone="", website=""):
        """Every existing practice this one resembles, each with the reason, first reason wins."""
        found = {}

        def note(entry, reason):
            if entry and entry[0] not in found:
                found[entry[0]] = DuplicateMatch(*entry, reason=str(reason))

        if npi:
            note(self.by_npi.get(npi), _("same NPI"))
        phone = phone_key(phone, self.region)
        if phone:
            note(self.by_phone.get(phone), _("same phone number"))
        domain = website_domain(website)
        if domain:
            note(self.by_domain.get(domain), _("same website"))
        key = _name_key(name)
        if key:
            for other_key, entry in self.by_city.get(_city_key(city), []):
                if entry[0] in found or not other_key:
                    continue
                matcher = SequenceMatcher(None, key, other_key)
                close_enough = matcher.real_quick_ratio() >= NAME_SIMILARITY_THRESHOLD
                if close_enough and matcher.ratio() >= NAME_SIMILARITY_THRESHOLD:
                    note(entry, _("similar name in the same city"))
        return list(found.values())


def _candidates(spa, *, city, npi, phone, website):
    """Only the practices that could match: same city (for the name rule), NPI, phone or domain.

    A practice page checks one practice; loading the whole spa for it would grow with the spa.
    """
    condition = Q(city__iexact=" ".join((city or "").split()))
    if npi:
        condition |= Q(npi=npi)
    phone = phone_key(phone, spa.country)
    if phone:
        condition |= Q(phone_normalized=phone)
    domain = website_domain(website)
    if domain:
        condition |= Q(website__icontains=domain)
    return Practice.objects.filter(spa=spa).filter(condition)


def practice_duplicates(*, spa, fields, exclude=None):
    """Existing practices of ``spa`` that the given practice fields resemble."""
    wanted = {name: fields.get(name) or "" for name in ("name", "city", "npi", "phone", "website")}
    candidates = _candidates(
        spa, city=wanted["city"], npi=wanted["npi"], phone=wanted["phone"], website=wanted["website"]
    )
    candidates = candidates.only("id", "public_id", "name", "city", "npi", "phone", "website")
    if exclude is not None:
        candidates = candidates.exclude(pk=exclude.pk)
    return DuplicateIndex(candidates, region=spa.country).matches(**wanted)
