"""What a prospect search asks (``ProspectQuery``) and what either source answers (``Candidate``)."""

import dataclasses
from dataclasses import dataclass, field

from infra.geo import distance_km, zip5, zip_centroid


@dataclass(frozen=True)
class ProspectQuery:
    """A search: a specialty and an area (a ZIP code with a radius, or a city and state)."""

    specialty: str
    postal_code: str = ""
    radius_km: int = 0
    city: str = ""
    state: str = ""
    limit: int = 200

    def cache_key(self):
        return f"{self.specialty}|{zip5(self.postal_code)}|{self.radius_km}|{self.city.lower()}|{self.state.upper()}"


@dataclass
class Candidate:
    """One provider from the registry, as both sources describe it."""

    npi: str
    entity_type: str  # "1" a clinician, "2" an organization (the registry's Entity Type Code)
    organization_name: str = ""
    first_name: str = ""
    last_name: str = ""
    credential: str = ""
    address: str = ""
    city: str = ""
    state: str = ""
    postal_code: str = ""
    phone: str = ""
    taxonomy_code: str = ""
    distance_km: float | None = None
    duplicates: list = field(default_factory=list)

    @property
    def is_clinician(self):
        return self.entity_type == "1"

    @property
    def display_name(self):
        if not self.is_clinician:
            return self.organization_name
        credential = f", {self.credential}" if self.credential else ""
        return f"{self.first_name} {self.last_name}{credential}".strip()

    def measure_from(self, latitude, longitude):
        centroid = zip_centroid(self.postal_code)
        self.distance_km = distance_km(latitude, longitude, *centroid) if centroid else None


COMPUTED = {"distance_km", "duplicates"}  # worked out per search, not kept with a chosen provider


def candidate_to_json(candidate):
    """What an import keeps of a chosen provider (ProspectImport.candidates)."""
    return {name: value for name, value in dataclasses.asdict(candidate).items() if name not in COMPUTED}


def candidate_from_json(data):
    known = {f.name for f in dataclasses.fields(Candidate)} - COMPUTED
    return Candidate(**{name: value for name, value in data.items() if name in known})


def title_case(text):
    """The registry writes names in capitals ("GLOW DERMATOLOGY LLC"); a letter should not."""
    words = (text or "").split()
    keep_upper = {"LLC", "PLLC", "PC", "PA", "MD", "DO", "PT", "DPT", "DC", "NP", "II", "III", "IV", "OB", "GYN"}
    return " ".join(word if word.upper() in keep_upper else word.capitalize() for word in words)
