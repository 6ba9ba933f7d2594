import django_filters
from django import forms
from django.utils.translation import gettext_lazy as _
from django_scopes import scopes_disabled

from infra.phones import PhoneNumberFormField
from spas.models import Specialty, User

from .csv_import import TARGETS
from .models import Clinician, OfficeContact, Practice, Stage
from .selectors import practice_search, spa_cities, spa_tags
from .services import parse_tags


def _name_empty_choice(field, label):
    """Say what an empty select means instead of Django's "---------"."""
    field.choices = [("", label), *[(value, text) for value, text in field.choices if value != ""]]


class SpaPhonesMixin:
    """Phone fields read in the spa's country (``spa`` may be omitted: then US)."""

    phone_fields = ("phone",)

    def _set_phone_region(self, spa):
        for name in self.phone_fields:
            self.fields[name].region = getattr(spa, "country", None)


class PracticeForm(SpaPhonesMixin, forms.ModelForm):
    phone = PhoneNumberFormField(label=_("Phone"), required=False, autocomplete="off")
    fax = PhoneNumberFormField(label=_("Fax"), required=False, autocomplete="off")
    phone_fields = ("phone", "fax")
    tags = forms.CharField(
        label=_("Tags"), required=False, max_length=400, help_text=_("Separate tags with commas, e.g. lunch done, VIP.")
    )
    confirm_not_duplicate = forms.BooleanField(
        label=_("Yes, this is a different practice — save it anyway"), required=False, widget=forms.CheckboxInput
    )

    class Meta:
        model = Practice
        fields = [
            "name",
            "specialty",
            "address",
            "city",
            "state",
            "postal_code",
            "phone",
            "fax",
            "website",
            "npi",
            "size",
            "source",
            "introduced_by",
            "owner",
            "philosophy",
            "published_articles",
            "community_involvement",
        ]
        widgets = {
            "philosophy": forms.Textarea(attrs={"rows": 3}),
            "published_articles": forms.Textarea(attrs={"rows": 3}),
            "community_involvement": forms.Textarea(attrs={"rows": 3}),
            "npi": forms.TextInput(attrs={"inputmode": "numeric", "pattern": "[0-9]{10}", "maxlength": 10}),
        }

    def __init__(self, *args, spa, show_duplicate_confirmation=False, **kwargs):
        super().__init__(*args, **kwargs)
        self._set_phone_region(spa)
        self.fields["owner"].queryset = User.objects.filter(memberships__spa=spa).order_by("email")
        self.fields["owner"].label_from_instance = lambda user: user.display_name
        self.fields["owner"].empty_label = _("Nobody yet")
        _name_empty_choice(self.fields["specialty"], _("Choose a specialty"))
        _name_empty_choice(self.fields["size"], _("Not known"))
        _name_empty_choice(self.fields["source"], _("Not known"))
        if not show_duplicate_confirmation:
            del self.fields["confirm_not_duplicate"]
        if self.instance.pk and not self.is_bound:
            links = self.instance.practice_tags.select_related("tag").order_by("tag__name")
            self.initial["tags"] = ", ".join(link.tag.name for link in links)

    def clean_tags(self):
        return parse_tags(self.cleaned_data.get("tags"))

    def practice_fields(self):
        return {name: self.cleaned_data[name] for name in self.Meta.fields}


class StageMoveForm(forms.Form):
    stage = forms.ChoiceField(label=_("Move to"), choices=Stage.choices)
    reason = forms.CharField(label=_("Reason (needed when declined)"), required=False, max_length=255)


# What the board's decline dialog offers; "Other" asks for the words. The text is what the reason records.
DECLINE_REASONS = [
    _("Not interested right now"),
    _("Already refers to another spa"),
    _("Practice policy: no referrals to non-medical providers"),
    _("Too busy to meet"),
    _("Not a fit for their patients"),
]


class StageUndoForm(forms.Form):
    """A move's Undo (the toast posts here with both stages in the address): back to ``stage`` if the practice
    is still where the move put it (``moved_to``)."""

    stage = forms.ChoiceField(choices=Stage.choices)
    moved_to = forms.ChoiceField(choices=Stage.choices)


class ClinicianForm(SpaPhonesMixin, forms.ModelForm):
    phone = PhoneNumberFormField(label=_("Phone"), required=False, autocomplete="off")

    class Meta:
        model = Clinician
        fields = ["first_name", "last_name", "credentials", "specialty", "email", "phone", "npi"]
        widgets = {"npi": forms.TextInput(attrs={"inputmode": "numeric", "maxlength": 10})}

    def __init__(self, *args, spa=None, **kwargs):
        super().__init__(*args, **kwargs)
        self._set_phone_region(spa)
        _name_empty_choice(self.fields["specialty"], _("Same as the practice"))


class OfficeContactForm(SpaPhonesMixin, forms.ModelForm):
    phone = PhoneNumberFormField(label=_("Phone"), required=False, autocomplete="off")

    class Meta:
        model = OfficeContact
        fields = ["name", "role", "email", "phone", "preferred_contact_method"]

    def __init__(self, *args, spa=None, **kwargs):
        super().__init__(*args, **kwargs)
        self._set_phone_region(spa)


class MergeForm(forms.Form):
    other = forms.UUIDField(label=_("Practice to merge into this one"))


def _once(read):
    """A choices callable that reads its rows the first time only."""
    rows = []

    def choices():
        if not rows:
            rows.append(read())
        return rows[0]

    return choices


# django-scopes: a FilterSet on a scoped model must be declared with scopes disabled,
# because declaring it evaluates querysets at import time. The view passes a spa-filtered queryset.
with scopes_disabled():

    class PracticeFilter(django_filters.FilterSet):
        q = django_filters.CharFilter(label=_("Search"), method="filter_search")
        specialty = django_filters.ChoiceFilter(label=_("Specialty"), choices=Specialty.choices, empty_label=_("Any"))
        stage = django_filters.ChoiceFilter(label=_("Stage"), choices=Stage.choices, empty_label=_("Any"))
        owner = django_filters.ModelChoiceFilter(
            label=_("Owner"), queryset=User.objects.none(), empty_label=_("Anyone"), null_label=_("Nobody")
        )
        tag = django_filters.ChoiceFilter(
            label=_("Tag"), field_name="practice_tags__tag__name", distinct=True, choices=(), empty_label=_("Any")
        )
        city = django_filters.ChoiceFilter(
            label=_("City"), field_name="city", lookup_expr="iexact", choices=(), empty_label=_("Any")
        )

        class Meta:
            model = Practice
            fields = ["q", "specialty", "stage", "owner", "tag", "city"]

        def __init__(self, *args, spa, **kwargs):
            super().__init__(*args, **kwargs)
            self.spa = spa
            self.filters["owner"].queryset = User.objects.filter(memberships__spa=spa).order_by("email")
            # Read when the form is first validated or drawn, then kept: one query each, however used.
            self.filters["tag"].extra["choices"] = _once(lambda: [(tag.name, tag.name) for tag in spa_tags(spa=spa)])
            self.filters["city"].extra["choices"] = _once(lambda: [(city, city) for city in spa_cities(spa=spa)])
            self.form.fields["owner"].label_from_instance = lambda user: user.display_name

        def filter_search(self, queryset, name, value):
            return practice_search(queryset, value, spa=self.spa)


class ImportUploadForm(forms.Form):
    file = forms.FileField(
        label=_("CSV file"),
        help_text=_(
            "One practice per row (repeat the practice on more rows to add several clinicians). UTF-8 or "
            "Windows encoding, comma, semicolon or tab separated, at most 10 MB."
        ),
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,text/csv"}),
    )

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if not upload.name.lower().endswith((".csv", ".txt")):
            raise forms.ValidationError(_("Upload a .csv file (in your spreadsheet: File → Save as → CSV)."))
        return upload


class ImportMappingForm(forms.Form):
    """One select per target field: which column of the file holds it."""

    skip_duplicates = forms.BooleanField(label=_("Skip rows that look like practices you already have"), required=False)

    def __init__(self, *args, header, mapping, skip_duplicates, **kwargs):
        super().__init__(*args, **kwargs)
        column_choices = [("", _("— not in this file —"))] + [
            (str(i), title or f"#{i + 1}") for i, title in enumerate(header)
        ]
        self.targets = TARGETS
        for name, label, required in TARGETS:
            self.fields[f"map_{name}"] = forms.ChoiceField(
                label=label,  # the field template marks required ones with *
                choices=column_choices,
                required=required,
                error_messages={
                    "required": _("Choose the column that holds “%(field)s”.") % {"field": label},
                    "invalid_choice": _("Choose one of the file's columns."),
                },
                initial=str(mapping[name]) if name in mapping else "",
            )
        self.fields["skip_duplicates"].initial = skip_duplicates
        self.order_fields([f"map_{name}" for name, _label, _required in TARGETS] + ["skip_duplicates"])

    def mapping(self):
        return {
            name: int(self.cleaned_data[f"map_{name}"])
            for name, _l, _r in self.targets
            if self.cleaned_data.get(f"map_{name}") not in (None, "")
        }
