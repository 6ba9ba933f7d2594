import zoneinfo

from django import forms
from django.core.validators import FileExtensionValidator
from django.utils.translation import gettext_lazy as _

from .models import LOGO_EXTENSIONS, Role, Spa, slug_not_reserved

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
    "address",
    "phone",
    "email",
    "website",
    "booking_url",
    "referral_email",
    "referral_phone",
    "brand_colour",
    "logo",
]


class SpaForm(forms.ModelForm):
    timezone = forms.ChoiceField(label=_("Time zone"), choices=TIMEZONE_CHOICES, initial="America/New_York")

    class Meta:
        model = Spa
        fields = SPA_PROFILE_FIELDS
        widgets = {
            "brand_colour": forms.TextInput(attrs={"type": "color"}),
            "logo": forms.ClearableFileInput(attrs={"accept": "image/png,image/jpeg,image/webp,image/gif"}),
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Django's ImageField accepts any extension Pillow knows (tiff, pdf, …) and lists them all in
        # its error; check ours here so the message beside the field names the formats we take.
        self.fields["logo"].validators = [FileExtensionValidator(LOGO_EXTENSIONS)]

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
