"""Project-wide form rendering: Bootstrap 5 markup with each error beside its field.

Every form in the project renders through ``BootstrapFormRenderer`` (set as
FORM_RENDERER), so views and templates just write ``{{ form }}``.
"""

from django import forms
from django.forms.boundfield import BoundField
from django.forms.renderers import TemplatesSetting


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


def apply_validation_error(form, error):
    """Show a service's ValidationError beside the field it names, or above the form."""
    if hasattr(error, "error_dict"):
        for field, errors in error.message_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, error.messages)
