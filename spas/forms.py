import zoneinfo

from django import forms
from django.core.validators import FileExtensionValidator
from django.db.models.fields.files import FieldFile
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from infra.phones import PhoneNumberFormField

from .models import LOGO_EXTENSIONS, Country, Role, Spa, slug_not_reserved

COMMON_TIMEZONES = sorted(
    zone
    for zone in zoneinfo.available_timezones()
    if zone.startswith(("America/", "Europe/", "Australia/", "Pacific/", "Asia/", "Africa/")) or zone == "UTC"
)
TIMEZONE_CHOICES = [(zone, zone.replace("_", " ")) for zone in COMMON_TIMEZONES]

SPA_PROFILE_FIELDS = [
    "name",
    "slug",
    "timezone",
    "country",
    "address",
    "postal_code",
    "phone",
    "email",
    "website",
    "booking_url",
    "referral_email",
    "referral_phone",
    "brand_colour",
    "logo",
]


class _ServedLogo:
    """The current logo as the widget shows it: its name, linking to the logo's own view."""

    def __init__(self, logo):
        self.name = logo.name
        self.url = reverse("spa_logo", args=[logo.instance.public_id])

    def __str__(self):
        return self.name


class LogoInput(forms.ClearableFileInput):
    """Links the current logo to spas.views.spa_logo, not to the storage's URL: a bucket is private, and its
    address is one that only the app's own containers reach."""

    def is_initial(self, value):
        # A stored logo, not a file just uploaded with a form that failed (that one has no link yet).
        return isinstance(value, FieldFile) and bool(value)

    def format_value(self, value):
        return _ServedLogo(value) if self.is_initial(value) else None


class SpaForm(forms.ModelForm):
    timezone = forms.ChoiceField(label=_("Time zone"), choices=TIMEZONE_CHOICES, initial="America/New_York")

    class Meta:
        model = Spa
        fields = SPA_PROFILE_FIELDS
        widgets = {
            "brand_colour": forms.TextInput(attrs={"type": "color"}),
            "logo": LogoInput(attrs={"accept": "image/png,image/jpeg,image/webp,image/gif"}),
        }

    phone = PhoneNumberFormField(label=_("Phone"), required=False, autocomplete="off")
    referral_phone = PhoneNumberFormField(label=_("Referral phone"), required=False, autocomplete="off")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # A post without the menu (an old tab, a script) keeps the spa's country rather than failing.
        self.fields["country"].required = False
        # The spa's phones are read in the country chosen on the same form (or the saved one).
        country = self.data.get("country") if self.is_bound else None
        if country not in Country.values:
            country = self.instance.country or Country.US
        for name in ("phone", "referral_phone"):
            self.fields[name].region = country
        # Django's ImageField accepts any extension Pillow knows (tiff, pdf, …) and lists them all in
        # its error; check ours here so the message beside the field names the formats we take.
        self.fields["logo"].validators = [FileExtensionValidator(LOGO_EXTENSIONS)]

    def clean_country(self):
        return self.cleaned_data.get("country") or self.instance.country or Country.US

    def clean_slug(self):
        slug = self.cleaned_data["slug"].lower()
        slug_not_reserved(slug)
        return slug


class SpaSettingsForm(SpaForm):
    class Meta(SpaForm.Meta):
        fields = [field for field in SPA_PROFILE_FIELDS if field != "slug"] + ["require_owner_mfa"]


class InvitationForm(forms.Form):
    email = forms.EmailField(label=_("Email"), max_length=254)
    role = forms.ChoiceField(label=_("Role"), choices=Role.choices, initial=Role.STAFF)


class RoleForm(forms.Form):
    role = forms.ChoiceField(label=_("Role"), choices=Role.choices)


class SignupExtraFields(forms.Form):
    """Added to allauth's sign-up form (ACCOUNT_SIGNUP_FORM_CLASS)."""

    full_name = forms.CharField(
        label=_("Your name"), max_length=150, required=False, help_text=_("How your teammates will see you.")
    )

    def signup(self, request, user):
        user.full_name = self.cleaned_data.get("full_name", "").strip()
        user.save(update_fields=["full_name"])
