"""The tenant (Spa), its people, specialties and the service catalog.

The platform rows every app writes (audit events, outgoing email, generated documents) live in infra.models."""

import secrets
import uuid
import zoneinfo

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser, BaseUserManager, PermissionsMixin
from django.core.exceptions import ValidationError
from django.core.validators import (
    FileExtensionValidator,
    MaxValueValidator,
    MinLengthValidator,
    MinValueValidator,
    RegexValidator,
)
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from infra.geo import fill_coordinates
from infra.tenant_models import CreatedAt, PublicId, TenantModel
from infra.text import single_line

LOGO_MAX_BYTES = 2 * 1024 * 1024
LOGO_EXTENSIONS = ["png", "jpg", "jpeg", "webp", "gif"]


class UserManager(BaseUserManager):
    use_in_migrations = True

    def _create_user(self, email, password, **extra_fields):
        if not email:
            raise ValueError("An email address is required.")
        user = self.model(email=self.normalize_email(email).lower(), **extra_fields)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_user(self, email, password=None, **extra_fields):
        extra_fields.setdefault("is_staff", False)
        extra_fields.setdefault("is_superuser", False)
        return self._create_user(email, password, **extra_fields)

    def create_superuser(self, email, password=None, **extra_fields):
        extra_fields.setdefault("is_staff", True)
        extra_fields.setdefault("is_superuser", True)
        return self._create_user(email, password, **extra_fields)


class User(AbstractBaseUser, PermissionsMixin):
    """A person who signs in. Keyed by email; there are no usernames."""

    email = models.EmailField(_("email address"), unique=True)
    full_name = models.CharField(_("full name"), max_length=150, blank=True, validators=[single_line])
    is_active = models.BooleanField(_("active"), default=True)
    is_staff = models.BooleanField(_("staff status"), default=False)
    date_joined = models.DateTimeField(_("date joined"), default=timezone.now)

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS = []

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")

    def __str__(self):
        return self.full_name or self.email

    @property
    def display_name(self):
        return self.full_name or self.email.split("@")[0]


def validate_timezone(value):
    if value not in zoneinfo.available_timezones():
        raise ValidationError(_("Unknown time zone “%(value)s”."), params={"value": value})


def validate_logo_size(file):
    if file and file.size > LOGO_MAX_BYTES:
        raise ValidationError(_("The logo must be 2 MB or smaller."))


def logo_upload_to(spa, filename):
    extension = filename.rsplit(".", 1)[-1].lower()
    return f"logos/{spa.public_id}/{secrets.token_hex(8)}.{extension}"


hex_colour = RegexValidator(r"^#[0-9a-fA-F]{6}$", _("Enter a colour like #2a7a78."))
slug_format = RegexValidator(
    r"^[a-z0-9]+(?:-[a-z0-9]+)*$", _("Use lowercase letters, digits and single hyphens, like serenity-spa.")
)
slug_length = MinLengthValidator(3, _("Use at least 3 characters, like serenity-spa."))
# Words that name parts of the site (or may one day): a spa called "admin" would have /s/admin/, and a web
# address that reads like ours invites phishing.
RESERVED_SLUGS = frozenset(
    {
        "accounts", "admin", "api", "app", "brand", "consent", "dashboard", "docs", "fhir", "help", "healthz",
        "invitations", "login", "logout", "mail", "media", "new", "portal", "portal-invitations", "root",
        "settings", "signup", "spa-referrals", "spas", "static", "support", "system", "webhooks", "www",
    }
)  # fmt: skip


def slug_not_reserved(value):
    if (value or "").lower() in RESERVED_SLUGS:
        raise ValidationError(_("This web address is reserved. Choose another."), code="reserved")


class Country(models.TextChoices):
    """Where a spa is (ISO 3166 alpha-2): the default region for the phone numbers typed in its workspace."""

    US = "US", _("United States")
    CA = "CA", _("Canada")
    GB = "GB", _("United Kingdom")
    IE = "IE", _("Ireland")
    AU = "AU", _("Australia")
    NZ = "NZ", _("New Zealand")
    MX = "MX", _("Mexico")
    DE = "DE", _("Germany")
    AT = "AT", _("Austria")
    CH = "CH", _("Switzerland")
    FR = "FR", _("France")
    BE = "BE", _("Belgium")
    NL = "NL", _("Netherlands")
    LU = "LU", _("Luxembourg")
    ES = "ES", _("Spain")
    PT = "PT", _("Portugal")
    IT = "IT", _("Italy")
    DK = "DK", _("Denmark")
    SE = "SE", _("Sweden")
    NO = "NO", _("Norway")
    FI = "FI", _("Finland")
    PL = "PL", _("Poland")
    GR = "GR", _("Greece")
    IL = "IL", _("Israel")
    AE = "AE", _("United Arab Emirates")
    ZA = "ZA", _("South Africa")
    SG = "SG", _("Singapore")
    JP = "JP", _("Japan")


class Spa(models.Model):
    """The tenant: one spa, salon or medical spa and everything it owns."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    name = models.CharField(_("name"), max_length=120, validators=[single_line])
    slug = models.SlugField(
        _("web address"),
        max_length=50,
        unique=True,
        validators=[slug_format, slug_length, slug_not_reserved],
        help_text=_("Used in your workspace links: /s/<web address>/"),
    )
    timezone = models.CharField(
        _("time zone"), max_length=64, default="America/New_York", validators=[validate_timezone]
    )
    country = models.CharField(
        _("country"),
        max_length=2,
        choices=Country.choices,
        default=Country.US,
        help_text=_("Phone numbers typed without a country code are read as this country's."),
    )
    address = models.CharField(_("address"), max_length=255, blank=True, validators=[single_line])
    postal_code = models.CharField(
        _("ZIP code"),
        max_length=10,
        blank=True,
        validators=[single_line],
        help_text=_("Distances to practices are measured from here."),
    )
    # The ZIP code's centre (infra.geo), kept in step by save(): where distances and the map start.
    latitude = models.DecimalField(max_digits=9, decimal_places=6, null=True, blank=True, editable=False)
    longitude = models.DecimalField(max_digits=9, decimal_places=6, null=True, blank=True, editable=False)
    phone = models.CharField(_("phone"), max_length=30, blank=True, validators=[single_line])
    email = models.EmailField(_("email"), blank=True)
    website = models.URLField(_("website"), blank=True)
    booking_url = models.URLField(_("booking link"), blank=True)
    referral_email = models.EmailField(_("referral email"), blank=True, help_text=_("Dedicated intake address."))
    referral_phone = models.CharField(_("referral phone"), max_length=30, blank=True, validators=[single_line])
    brand_colour = models.CharField(_("brand colour"), max_length=7, default="#2a7a78", validators=[hex_colour])
    logo = models.ImageField(
        _("logo"),
        upload_to=logo_upload_to,
        blank=True,
        validators=[FileExtensionValidator(LOGO_EXTENSIONS), validate_logo_size],
        help_text=_("PNG, JPEG, WebP or GIF, at most 2 MB."),
    )
    require_owner_mfa = models.BooleanField(
        _("require two-factor authentication for owners"),
        default=False,
        help_text=_("Owners must set up an authenticator app before they can open the workspace."),
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name

    def save(self, *args, **kwargs):
        # Derived from the ZIP code, like a practice's (partners.models.Practice.save): never older than the code.
        kwargs["update_fields"] = fill_coordinates(self, kwargs.get("update_fields"))
        super().save(*args, **kwargs)


class Role(models.TextChoices):
    OWNER = "owner", _("Owner")
    MANAGER = "manager", _("Manager")
    STAFF = "staff", _("Staff")


ROLE_RANK = {Role.STAFF: 1, Role.MANAGER: 2, Role.OWNER: 3}


class Membership(TenantModel, PublicId):
    """A user's seat in a spa, with a role."""

    spa = models.ForeignKey(Spa, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(_("role"), max_length=16, choices=Role.choices, default=Role.STAFF)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["spa", "user"], name="membership_unique_user_per_spa")]
        ordering = ["created_at"]

    def __str__(self):
        return f"{self.user} @ {self.spa} ({self.role})"

    def has_role(self, minimum_role):
        return ROLE_RANK[self.role] >= ROLE_RANK[minimum_role]


def invitation_token():
    return secrets.token_urlsafe(32)


def invitation_expiry():
    return timezone.now() + timezone.timedelta(days=7)


class Invitation(TenantModel, PublicId):
    """An owner's invitation for someone to join the spa with a role."""

    spa = models.ForeignKey(Spa, on_delete=models.CASCADE, related_name="invitations")
    email = models.EmailField(_("email"))
    role = models.CharField(_("role"), max_length=16, choices=Role.choices, default=Role.STAFF)
    token = models.CharField(max_length=64, unique=True, default=invitation_token, editable=False)
    invited_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(default=invitation_expiry)
    accepted_at = models.DateTimeField(null=True, blank=True)
    accepted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self):
        return f"Invitation for {self.email} to {self.spa}"

    @property
    def is_pending(self):
        return self.accepted_at is None and self.revoked_at is None and self.expires_at > timezone.now()

    @property
    def state(self):
        if self.accepted_at:
            return "accepted"
        if self.revoked_at:
            return "revoked"
        if self.expires_at <= timezone.now():
            return "expired"
        return "pending"


# --- Specialties and the service catalog -------------------------------------------------
# Specialties live here, in the lowest app, because the catalog (services, offers,
# equipment) says which specialties' patients each item suits, and partners import them.


class Specialty(models.TextChoices):
    DERMATOLOGY = "dermatology", _("Dermatology")
    OB_GYN = "ob_gyn", _("OB-GYN")
    PHYSICAL_THERAPY = "physical_therapy", _("Physical therapy")
    CHIROPRACTIC = "chiropractic", _("Chiropractic")
    PLASTIC_SURGERY = "plastic_surgery", _("Plastic surgery")
    ONCOLOGY = "oncology", _("Oncology")
    PRIMARY_CARE = "primary_care", _("Primary care")
    SPORTS_MEDICINE = "sports_medicine", _("Sports medicine")
    OTHER = "other", _("Other")


def validate_specialty_list(value):
    if not isinstance(value, list) or any(code not in Specialty.values for code in value):
        raise ValidationError(_("Choose specialties from the list."))


class SpecialtyTalkingPoints(TenantModel):
    """What one specialty's patients need that this spa provides; seeded with defaults, edited per spa."""

    spa = models.ForeignKey(Spa, on_delete=models.CASCADE, related_name="talking_points")
    specialty = models.CharField(_("specialty"), max_length=32, choices=Specialty.choices)
    talking_points = models.TextField(_("talking points"), max_length=4000, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["spa", "specialty"], name="talking_points_unique_specialty")]
        ordering = ["specialty"]

    def __str__(self):
        return self.get_specialty_display()


class CatalogItem(TenantModel, PublicId, CreatedAt):
    """Fields every catalog entry shares: the owning spa, a public id, archiving and the specialties it suits."""

    specialties = models.JSONField(_("specialties"), default=list, blank=True, validators=[validate_specialty_list])
    archived_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True

    @property
    def is_archived(self):
        return self.archived_at is not None

    def suits(self, specialty):
        return specialty in self.specialties

    def specialty_labels(self):
        labels = dict(Specialty.choices)
        return [labels[code] for code in self.specialties if code in labels]


class Service(CatalogItem):
    class Category(models.TextChoices):
        MASSAGE = "massage", _("Massage")
        FACIAL = "facial", _("Facial")
        BODY = "body", _("Body treatment")
        SKIN = "skin", _("Skin care")
        NAILS = "nails", _("Nails")
        WELLNESS = "wellness", _("Wellness")

    name = models.CharField(_("name"), max_length=120, validators=[single_line])
    category = models.CharField(_("category"), max_length=16, choices=Category.choices)
    description = models.TextField(_("description"), max_length=2000, blank=True)
    duration_minutes = models.PositiveSmallIntegerField(
        _("duration (minutes)"), validators=[MinValueValidator(5), MaxValueValidator(600)]
    )
    price = models.DecimalField(_("price"), max_digits=8, decimal_places=2, validators=[MinValueValidator(0)])
    pregnancy_safe = models.BooleanField(_("pregnancy-safe"), default=False)
    precautions = models.TextField(_("precautions / contraindications"), max_length=2000, blank=True)

    class Meta:
        ordering = ["category", "name"]

    def __str__(self):
        return self.name


class Offer(CatalogItem):
    """An offer for referred patients, e.g. 15% off a first prenatal massage."""

    title = models.CharField(_("title"), max_length=120, validators=[single_line])
    terms = models.TextField(_("terms"), max_length=2000, blank=True)
    valid_from = models.DateField(_("valid from"), null=True, blank=True)
    valid_until = models.DateField(_("valid until"), null=True, blank=True)

    class Meta:
        ordering = ["-valid_from", "title"]

    def __str__(self):
        return self.title

    def clean(self):
        if self.valid_from and self.valid_until and self.valid_until < self.valid_from:
            raise ValidationError({"valid_until": _("The offer must end after it starts.")})

    def is_current(self, on_date=None):
        on_date = on_date or timezone.localdate()
        return (
            not self.is_archived
            and (self.valid_from is None or self.valid_from <= on_date)
            and (self.valid_until is None or on_date <= self.valid_until)
        )


class Credential(CatalogItem):
    """A practitioner's credential, e.g. "Certified prenatal massage therapist"."""

    person = models.CharField(_("practitioner"), max_length=120, validators=[single_line])
    credential = models.CharField(_("credential"), max_length=160, validators=[single_line])
    issuer = models.CharField(_("issued by"), max_length=160, blank=True, validators=[single_line])
    number = models.CharField(_("licence / certificate number"), max_length=60, blank=True, validators=[single_line])
    expires_on = models.DateField(_("expires on"), null=True, blank=True)
    # One reminder per threshold: claimed with a conditional update so a second beat sends nothing.
    reminded_60_at = models.DateTimeField(null=True, blank=True, editable=False)
    reminded_30_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["person", "credential"]

    def __str__(self):
        return f"{self.person} — {self.credential}"

    def is_current(self, on_date=None):
        on_date = on_date or timezone.localdate()
        return not self.is_archived and (self.expires_on is None or self.expires_on >= on_date)


class Equipment(CatalogItem):
    name = models.CharField(_("name"), max_length=120, validators=[single_line])
    brand = models.CharField(_("brand"), max_length=120, blank=True, validators=[single_line])
    purpose = models.TextField(_("what it is for"), max_length=1000, blank=True)

    class Meta:
        ordering = ["name"]
        verbose_name_plural = _("equipment")

    def __str__(self):
        return self.name


class ProductLine(CatalogItem):
    name = models.CharField(_("name"), max_length=120, validators=[single_line])
    brand = models.CharField(_("brand"), max_length=120, blank=True, validators=[single_line])
    purpose = models.TextField(_("what it is for"), max_length=1000, blank=True)

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name
