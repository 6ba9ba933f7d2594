"""Medical practices the spa partners with, the people who work there, and where each relationship stands."""

import re
import secrets

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from infra.geo import fill_coordinates
from infra.phones import phone_key
from infra.tenant_models import CreatedAt, PublicId, TenantModel
from infra.text import single_line
from spas.models import Spa, Specialty

# Referral codes are read aloud and typed from paper: no 0/O, 1/I/L, 5/S, 8/B.
REFERRAL_CODE_ALPHABET = "234679ACDEFGHJKMNPQRTUVWXYZ"
REFERRAL_CODE_LENGTH = 6


def generate_referral_code():
    return "".join(secrets.choice(REFERRAL_CODE_ALPHABET) for _ in range(REFERRAL_CODE_LENGTH))


def npi_is_valid(npi):
    """NPI check digit: Luhn over the 9 base digits prefixed with the 80840 issuer prefix."""
    if not re.fullmatch(r"[0-9]{10}", npi or ""):  # ASCII only: \d would accept "١٢٣…"
        return False
    digits = [int(d) for d in "80840" + npi[:9]]
    total = 0
    for position, digit in enumerate(reversed(digits)):
        if position % 2 == 0:
            digit *= 2
            if digit > 9:
                digit -= 9
        total += digit
    return (10 - total % 10) % 10 == int(npi[9])


def validate_npi(value):
    if value and not npi_is_valid(value):
        raise ValidationError(_("Enter a valid 10-digit NPI (the last digit is a check digit)."))


def website_domain(value):
    value = (value or "").strip().lower()
    value = re.sub(r"^[a-z]+://", "", value)
    value = value.split("/")[0].split("?")[0].split(":")[0]
    return value.removeprefix("www.")


class Stage(models.TextChoices):
    PROSPECT = "prospect", _("Prospect")
    RESEARCHED = "researched", _("Researched")
    CONTACTED = "contacted", _("Contacted")
    MEETING = "meeting", _("Meeting")
    TRIAL = "trial", _("Trial")
    ACTIVE = "active", _("Active partner")
    DORMANT = "dormant", _("Dormant")
    DECLINED = "declined", _("Declined")


class Practice(TenantModel, PublicId, CreatedAt):
    class Size(models.TextChoices):
        SOLO = "solo", _("Solo (1 clinician)")
        SMALL = "small", _("Small (2–5)")
        MEDIUM = "medium", _("Medium (6–20)")
        LARGE = "large", _("Large (21+)")

    class Source(models.TextChoices):
        CLIENT_INTRODUCTION = "client_introduction", _("Client introduction")
        NETWORKING_EVENT = "networking_event", _("Networking event")
        CONTINUING_EDUCATION = "continuing_education", _("Continuing-education course")
        DIRECTORY = "directory", _("Directory")
        WALK_IN = "walk_in", _("Walk-in")
        OTHER = "other", _("Other")

    spa = models.ForeignKey(Spa, on_delete=models.CASCADE, related_name="practices")
    name = models.CharField(_("practice name"), max_length=160, validators=[single_line])
    specialty = models.CharField(_("specialty"), max_length=32, choices=Specialty.choices)
    address = models.CharField(_("address"), max_length=255, blank=True, validators=[single_line])
    city = models.CharField(_("city"), max_length=80, blank=True, validators=[single_line])
    state = models.CharField(_("state"), max_length=2, blank=True, validators=[single_line])
    postal_code = models.CharField(_("ZIP code"), max_length=10, blank=True, validators=[single_line])
    # The ZIP code's centre (infra.geo), kept in step by save(): how far the practice is from the spa.
    latitude = models.DecimalField(max_digits=9, decimal_places=6, null=True, blank=True, editable=False)
    longitude = models.DecimalField(max_digits=9, decimal_places=6, null=True, blank=True, editable=False)
    phone = models.CharField(_("phone"), max_length=30, blank=True, validators=[single_line])
    # The phone's comparison key (infra.phones.phone_key: E.164 without the extension), kept in step by save(), for
    # finding the same number in the database (duplicates, search).
    phone_normalized = models.CharField(max_length=30, blank=True, editable=False, db_index=True)
    fax = models.CharField(_("fax"), max_length=30, blank=True, validators=[single_line])
    website = models.URLField(_("website"), max_length=200, blank=True)
    npi = models.CharField(_("NPI"), max_length=10, blank=True, validators=[validate_npi])
    size = models.CharField(_("size"), max_length=16, choices=Size.choices, blank=True)
    source = models.CharField(_("how identified"), max_length=32, choices=Source.choices, blank=True)
    introduced_by = models.CharField(_("introduced by (client)"), max_length=120, blank=True, validators=[single_line])
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("owner"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        help_text=_("The team member responsible for this relationship."),
    )
    stage = models.CharField(_("pipeline stage"), max_length=16, choices=Stage.choices, default=Stage.PROSPECT)
    stage_changed_at = models.DateTimeField(default=timezone.now)
    declined_reason = models.CharField(_("reason declined"), max_length=255, blank=True, validators=[single_line])
    philosophy = models.TextField(_("practice philosophy"), max_length=4000, blank=True)
    published_articles = models.TextField(_("published articles"), max_length=4000, blank=True)
    community_involvement = models.TextField(_("community involvement"), max_length=4000, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        indexes = [
            models.Index(fields=["spa", "stage"], name="practice_spa_stage_idx"),
            models.Index(fields=["spa", "name"], name="practice_spa_name_idx"),
        ]

    def __str__(self):
        return self.name

    def save(self, *args, **kwargs):
        # A value derived from the phone, not a rule: kept in step on every save that writes the phone, whichever way
        # the practice is saved (a service, a merge, a factory, the admin), so the key never describes an older
        # number. Bulk writes (CSV import, bench) set it with the same function.
        update_fields = kwargs.get("update_fields")
        if update_fields is None or "phone" in update_fields:
            self.phone_normalized = phone_key(self.phone, self.spa.country)
            if update_fields is not None:
                kwargs["update_fields"] = {*update_fields, "phone_normalized"}
        kwargs["update_fields"] = fill_coordinates(self, kwargs.get("update_fields"), country=self.spa.country)
        super().save(*args, **kwargs)

    def clean(self):
        if self.stage == Stage.DECLINED and not self.declined_reason:
            raise ValidationError({"declined_reason": _("Say why the practice declined.")})

    @property
    def referral_code(self):
        """The practice's own (clinician-less) code, the one printed on its pads."""
        codes = getattr(self, "practice_codes", None)
        if codes is not None:
            return codes[0].code if codes else ""
        code = self.referral_codes.filter(clinician=None).order_by("created_at").first()
        return code.code if code else ""


class Clinician(TenantModel, PublicId, CreatedAt):
    practice = models.ForeignKey(Practice, on_delete=models.CASCADE, related_name="clinicians")
    first_name = models.CharField(_("first name"), max_length=80, validators=[single_line])
    last_name = models.CharField(_("last name"), max_length=80, validators=[single_line])
    credentials = models.CharField(
        _("credentials"), max_length=60, blank=True, help_text=_("e.g. MD, DO, PT, DPT, NP"), validators=[single_line]
    )
    specialty = models.CharField(_("specialty"), max_length=32, choices=Specialty.choices, blank=True)
    email = models.EmailField(_("email"), blank=True)
    phone = models.CharField(_("phone"), max_length=30, blank=True, validators=[single_line])
    npi = models.CharField(_("NPI"), max_length=10, blank=True, validators=[validate_npi])

    class Meta:
        ordering = ["last_name", "first_name"]

    def __str__(self):
        return self.display_name

    @property
    def display_name(self):
        suffix = f", {self.credentials}" if self.credentials else ""
        return f"{self.first_name} {self.last_name}{suffix}"

    @property
    def title_name(self):
        """How a letter addresses them: "Dr. Patel" for physicians, the full name otherwise."""
        doctor = {"MD", "DO", "DPT", "DC", "PHD", "DDS"}
        tokens = {token.strip().upper().replace(".", "") for token in self.credentials.split(",")}
        return f"Dr. {self.last_name}" if tokens & doctor else f"{self.first_name} {self.last_name}"


class OfficeContact(TenantModel, PublicId, CreatedAt):
    class Role(models.TextChoices):
        OFFICE_MANAGER = "office_manager", _("Office manager")
        FRONT_DESK = "front_desk", _("Front desk")
        NURSE = "nurse", _("Nurse")
        OTHER = "other", _("Other")

    class ContactMethod(models.TextChoices):
        EMAIL = "email", _("Email")
        PHONE = "phone", _("Phone")
        TEXT = "text", _("Text message")
        FAX = "fax", _("Fax")
        IN_PERSON = "in_person", _("In person")

    practice = models.ForeignKey(Practice, on_delete=models.CASCADE, related_name="contacts")
    name = models.CharField(_("name"), max_length=120, validators=[single_line])
    role = models.CharField(_("role"), max_length=20, choices=Role.choices, default=Role.FRONT_DESK)
    email = models.EmailField(_("email"), blank=True)
    phone = models.CharField(_("phone"), max_length=30, blank=True, validators=[single_line])
    preferred_contact_method = models.CharField(
        _("preferred contact method"), max_length=12, choices=ContactMethod.choices, default=ContactMethod.EMAIL
    )

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name


class ReferralCode(TenantModel, CreatedAt):
    """A short code printed on a pad and typed at /r/<code>: for a practice, or for one of its clinicians.

    Codes are unique across all spas because the landing page resolves them without a spa in the URL.
    They move with a merge, so pads already printed keep working.
    """

    code = models.CharField(max_length=12, unique=True)
    practice = models.ForeignKey(Practice, on_delete=models.CASCADE, related_name="referral_codes")
    clinician = models.ForeignKey(
        Clinician, on_delete=models.CASCADE, null=True, blank=True, related_name="referral_codes"
    )

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self):
        return self.code


class Tag(TenantModel):
    name = models.CharField(_("tag"), max_length=40, validators=[single_line])

    class Meta:
        ordering = ["name"]
        constraints = [models.UniqueConstraint(fields=["spa", "name"], name="tag_unique_name_per_spa")]

    def __str__(self):
        return self.name


class PracticeTag(TenantModel):
    """The practice ↔ tag link, with the spa on the row like every tenant table."""

    practice = models.ForeignKey(Practice, on_delete=models.CASCADE, related_name="practice_tags")
    tag = models.ForeignKey(Tag, on_delete=models.CASCADE, related_name="practice_tags")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["practice", "tag"], name="practice_tag_unique")]

    def __str__(self):
        return f"{self.practice_id}:{self.tag_id}"


class StageChange(TenantModel):
    """One move in the pipeline: from, to, who and when."""

    practice = models.ForeignKey(Practice, on_delete=models.CASCADE, related_name="stage_changes")
    from_stage = models.CharField(max_length=16, choices=Stage.choices, blank=True)
    to_stage = models.CharField(max_length=16, choices=Stage.choices)
    reason = models.CharField(max_length=255, blank=True)
    changed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+")
    changed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-changed_at", "-id"]

    def __str__(self):
        return f"{self.from_stage or '—'} → {self.to_stage}"


class PracticeImport(TenantModel, PublicId, CreatedAt):
    """An uploaded CSV of practices (and their clinicians) waiting to be mapped, checked and committed."""

    class Status(models.TextChoices):
        UPLOADED = "uploaded", _("Uploaded")
        COMMITTED = "committed", _("Imported")

    filename = models.CharField(max_length=255)
    content = models.TextField()
    mapping = models.JSONField(default=dict)
    skip_duplicates = models.BooleanField(default=True)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.UPLOADED)
    row_count = models.PositiveIntegerField(default=0)
    practices_created = models.PositiveIntegerField(default=0)
    clinicians_created = models.PositiveIntegerField(default=0)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+")
    committed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self):
        return self.filename


class ProspectImport(TenantModel, PublicId, CreatedAt):
    """Prospects chosen from a registry search, imported in the background so the page can show its progress.

    The chosen providers are kept as the search returned them (``candidates``), so the worker needs neither the
    registry nor the search again. The worker imports them a few at a time, each step one transaction that also
    moves ``done`` forward, so a killed worker's successor carries on where the last committed step ended and
    never imports a provider twice (the duplicate check would skip it anyway).
    """

    class Status(models.TextChoices):
        QUEUED = "queued", _("Waiting to start")
        RUNNING = "running", _("Importing")
        DONE = "done", _("Done")
        FAILED = "failed", _("Failed")

    source = models.CharField(max_length=10)  # "api" or "file": where the search looked
    specialty = models.CharField(max_length=32, choices=Specialty.choices)
    search = models.CharField(max_length=300, blank=True)  # the search's query string, to go back to it
    candidates = models.JSONField(default=list)
    total = models.PositiveIntegerField(default=0)
    done = models.PositiveIntegerField(default=0)
    created_ids = models.JSONField(default=list)  # public ids of the practices created
    skipped = models.JSONField(default=list)  # [{"npi", "name", "match_id", "match_name", "reason"}]
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.QUEUED)
    error = models.CharField(max_length=300, blank=True)
    # Refreshed at every step: a running import whose heartbeat is old lost its worker (the sweep restarts it).
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+")

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["status", "heartbeat_at"], name="prospect_import_sweep_idx")]

    def __str__(self):
        return f"{self.get_specialty_display()} ({self.total})"

    @property
    def is_finished(self):
        return self.status in (self.Status.DONE, self.Status.FAILED)

    @property
    def percent(self):
        return round(100 * self.done / self.total) if self.total else 100


class NppesProvider(models.Model):
    """One provider from the monthly NPPES data file (``manage.py nppes_load``): public data, shared by every spa.

    Not tenant-owned: it is the registry as published, read by every spa's prospect search and never written by
    one. A spa's own copy of a provider is the ``Practice`` (and ``Clinician``) it imports from here.
    """

    class EntityType(models.TextChoices):
        INDIVIDUAL = "1", _("Clinician")
        ORGANIZATION = "2", _("Organization")

    npi = models.CharField(max_length=10, primary_key=True)
    entity_type = models.CharField(max_length=1, choices=EntityType.choices)
    organization_name = models.CharField(max_length=320, blank=True)
    last_name = models.CharField(max_length=80, blank=True)
    first_name = models.CharField(max_length=80, blank=True)
    credential = models.CharField(max_length=60, blank=True)
    address_1 = models.CharField(max_length=120, blank=True)
    address_2 = models.CharField(max_length=120, blank=True)
    city = models.CharField(max_length=80, blank=True)
    state = models.CharField(max_length=40, blank=True)
    postal_code = models.CharField(max_length=5, blank=True)
    phone = models.CharField(max_length=30, blank=True)
    # The primary taxonomy (the one whose "Primary Taxonomy Switch" is Y, else the first listed): what a search by
    # specialty matches, indexed with the ZIP code because every search names both.
    taxonomy_code = models.CharField(max_length=10, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["taxonomy_code", "postal_code"], name="nppes_taxonomy_zip_idx"),
            models.Index(fields=["postal_code"], name="nppes_zip_idx"),
        ]

    def __str__(self):
        return self.npi
