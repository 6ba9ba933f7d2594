"""Project-wide form rendering: Bootstrap 5 markup with each error beside its field.

Every form in the project renders through ``BootstrapFormRenderer`` (set as
FORM_RENDERER), so views and templates just write ``{{ form }}``.
"""

import datetime
import uuid

from django import forms
from django.core.exceptions import ValidationError
from django.forms.boundfield import BoundField
from django.forms.renderers import TemplatesSetting
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


def _widget_css_class(widget):
    if isinstance(widget, forms.CheckboxInput):
        return "form-check-input"
    if isinstance(widget, (forms.CheckboxSelectMultiple, forms.RadioSelect)):
        return ""
    if isinstance(widget, forms.Select):
        return "form-select"
    if getattr(widget, "input_type", None) == "color":
        return "form-control form-control-color"
    return "form-control"


class BootstrapBoundField(BoundField):
    def build_widget_attrs(self, attrs, widget=None):
        attrs = super().build_widget_attrs(attrs, widget)
        widget = widget or self.field.widget
        classes = [attrs.get("class", ""), _widget_css_class(widget)]
        if self.form.is_bound and self.errors:
            classes.append("is-invalid")
            attrs["aria-invalid"] = "true"
        attrs["class"] = " ".join(c for c in classes if c).strip()
        return attrs

    @property
    def is_checkbox(self):
        return isinstance(self.field.widget, forms.CheckboxInput)


class BootstrapFormRenderer(TemplatesSetting):
    form_template_name = "forms/div.html"
    field_template_name = "forms/field.html"
    bound_field_class = BootstrapBoundField

    def render(self, template_name, context, request=None):
        if "fields" in context and "form" in context:
            # The error summary at the top of a failed form lists the fields with errors (forms/div.html).
            context["fields_with_errors"] = sum(1 for _field, errors in context["fields"] if errors)
        return super().render(template_name, context, request=request)


def apply_validation_error(form, error):
    """Show a service's ValidationError beside the field it names, or above the form."""
    if hasattr(error, "error_dict"):
        for field, errors in error.message_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, error.messages)


class PastDateConfirmationMixin:
    """Dates in the past are recorded only when the person says so.

    A form lists its date or date-time fields in ``past_date_fields``. When one of them holds a moment before
    now (a date before today, on the current time zone's clock: the spa's in the workspace), the form refuses
    it with "This date is in the past — record it anyway?" beside the field and shows a checkbox; sent again
    with the box ticked, the date is taken. A typo in the year is caught; a visit logged after the fact is
    one tick away.
    """

    past_date_fields = ()
    PAST_DATE_CONFIRM_FIELD = "confirm_past_date"

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Hidden until a past date is sent; then it becomes a checkbox the person must tick.
        self.fields[self.PAST_DATE_CONFIRM_FIELD] = forms.BooleanField(
            label=_("Yes, the date is in the past: record it anyway"), required=False, widget=forms.HiddenInput
        )

    def _is_in_the_past(self, value):
        if isinstance(value, datetime.datetime):
            return value < timezone.now()
        if isinstance(value, datetime.date):
            return value < timezone.localdate()
        return False

    def clean(self):
        cleaned_data = super().clean()
        confirmed = cleaned_data.get(self.PAST_DATE_CONFIRM_FIELD)
        past = [name for name in self.past_date_fields if self._is_in_the_past(cleaned_data.get(name))]
        if past and not confirmed:
            for name in past:
                self.add_error(name, _("This date is in the past — record it anyway? Tick the box below to confirm."))
            self.fields[self.PAST_DATE_CONFIRM_FIELD].widget = forms.CheckboxInput()
        return cleaned_data


class UUIDListField(forms.Field):
    """Several ids from checkboxes of the same name (rows ticked for a bulk action); a malformed id is an error."""

    widget = forms.MultipleHiddenInput
    default_error_messages = {"invalid": _("Choose from the list.")}

    def to_python(self, value):
        if not value:
            return []
        values = [value] if isinstance(value, str) else list(value)
        try:
            return [uuid.UUID(str(item)) for item in values]
        except ValueError:
            raise ValidationError(self.error_messages["invalid"], code="invalid") from None
