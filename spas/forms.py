import zoneinfo

from django import forms
from django.utils.translation import gettext_lazy as _

from .models import Role, Spa

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

RESERVED_SLUGS = {"new", "admin", "api", "static", "media", "portal", "accounts", "settings"}


class SpaForm(forms.ModelForm):
    timezone = forms.ChoiceField(label=_("Time zone"), choices=TIMEZONE_CHOICES, initial="America/New_York")

    class Meta:
        model = Spa
        fields = SPA_PROFILE_FIELDS
        widgets = {
            "brand_colour": forms.TextInput(attrs={"type": "color"}),
            "logo": forms.ClearableFileInput(attrs={"accept": "image/png,image/jpeg,image/webp,image/gif"}),
        }

    def clean_slug(self):
        slug = self.cleaned_data["slug"].lower()
        if slug in RESERVED_SLUGS:
            raise forms.ValidationError(_("This web address is reserved. Choose another."))
        return slug


class SpaSettingsForm(SpaForm):
    class Meta(SpaForm.Meta):
        fields = [field for field in SPA_PROFILE_FIELDS if field != "slug"] + ["require_owner_mfa"]


class InvitationForm(forms.Form):
    email = forms.EmailField(label=_("Email"), max_length=254)
    role = forms.ChoiceField(label=_("Role"), choices=Role.choices, initial=Role.STAFF)


class RoleForm(forms.Form):
    role = forms.ChoiceField(label=_("Role"), choices=Role.choices)
