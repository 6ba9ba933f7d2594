"""The documents page's filters: by kind and by what the document is about (a practice)."""

from urllib.parse import urlencode

from django import forms
from django.db.models import Max
from django.utils.translation import gettext_lazy as _

from infra import documents
from infra.models import GeneratedDocument


class DocumentFilterForm(forms.Form):
    kind = forms.ChoiceField(label=_("Kind"), required=False)
    subject = forms.ChoiceField(label=_("Practice"), required=False)

    def __init__(self, *args, spa, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["kind"].choices = [("", _("All kinds")), *documents.kind_choices()]
        # The practices this spa has documents about (one small query on the spa's documents).
        # One entry per practice, even when it was renamed between two documents.
        subjects = (
            GeneratedDocument.objects.filter(spa=spa, batch=None)
            .exclude(subject_id="")
            .values("subject_id")
            .annotate(label=Max("subject_label"))
        )
        choices = sorted(((row["subject_id"], row["label"]) for row in subjects), key=lambda choice: choice[1].lower())
        self.fields["subject"].choices = [("", _("All practices")), *choices]

    def apply(self, queryset):
        if not self.is_bound or not self.is_valid():
            return queryset
        if self.cleaned_data["kind"]:
            queryset = queryset.filter(kind=self.cleaned_data["kind"])
        if self.cleaned_data["subject"]:
            queryset = queryset.filter(subject_id=self.cleaned_data["subject"])
        return queryset

    def query_string(self):
        """The valid filters as a query string, for pagination and the live-refresh links."""
        if not self.is_bound or not self.is_valid():
            return ""
        return urlencode({name: value for name, value in self.cleaned_data.items() if value})
