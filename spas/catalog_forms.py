from django import forms
from django.utils.translation import gettext_lazy as _

from .models import Credential, Equipment, Offer, ProductLine, Service, Specialty, SpecialtyTalkingPoints


class SpecialtiesField(forms.MultipleChoiceField):
    widget = forms.CheckboxSelectMultiple

    def __init__(self, **kwargs):
        kwargs.setdefault("choices", Specialty.choices)
        kwargs.setdefault("required", False)
        kwargs.setdefault("label", _("Suits patients of"))
        super().__init__(**kwargs)

    def clean(self, value):
        # A code ticked twice (a crafted POST) is stored once.
        return list(dict.fromkeys(super().clean(value)))


class CatalogItemForm(forms.ModelForm):
    specialties = SpecialtiesField()

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk and not self.is_bound:
            self.initial["specialties"] = list(self.instance.specialties)


class ServiceForm(CatalogItemForm):
    class Meta:
        model = Service
        fields = [
            "name",
            "category",
            "description",
            "duration_minutes",
            "price",
            "specialties",
            "pregnancy_safe",
            "precautions",
        ]
        widgets = {"description": forms.Textarea(attrs={"rows": 3}), "precautions": forms.Textarea(attrs={"rows": 2})}


class OfferForm(CatalogItemForm):
    class Meta:
        model = Offer
        fields = ["title", "terms", "valid_from", "valid_until", "specialties"]
        widgets = {
            "terms": forms.Textarea(attrs={"rows": 3}),
            "valid_from": forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
            "valid_until": forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        }


class CredentialForm(CatalogItemForm):
    class Meta:
        model = Credential
        fields = ["person", "credential", "issuer", "number", "expires_on", "specialties"]
        widgets = {"expires_on": forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")}


class EquipmentForm(CatalogItemForm):
    class Meta:
        model = Equipment
        fields = ["name", "brand", "purpose", "specialties"]
        widgets = {"purpose": forms.Textarea(attrs={"rows": 3})}


class ProductLineForm(CatalogItemForm):
    class Meta:
        model = ProductLine
        fields = ["name", "brand", "purpose", "specialties"]
        widgets = {"purpose": forms.Textarea(attrs={"rows": 3})}


CATALOG_FORMS = {
    "services": ServiceForm,
    "offers": OfferForm,
    "credentials": CredentialForm,
    "equipment": EquipmentForm,
    "product-lines": ProductLineForm,
}


class TalkingPointsForm(forms.ModelForm):
    class Meta:
        model = SpecialtyTalkingPoints
        fields = ["talking_points"]
        widgets = {"talking_points": forms.Textarea(attrs={"rows": 4})}
