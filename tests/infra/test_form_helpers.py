"""Shared form behaviour: the error summary at the top of a failed form, and past dates that need a tick."""

import re

from django import forms
from django.utils import timezone
from freezegun import freeze_time

from infra.forms import PastDateConfirmationMixin

PAST_MESSAGE = "This date is in the past — record it anyway? Tick the box below to confirm."


class VisitForm(PastDateConfirmationMixin, forms.Form):
    title = forms.CharField(label="Title")
    due_on = forms.DateField(label="Due on")
    starts_at = forms.DateTimeField(label="Starts at", required=False)
    past_date_fields = ("due_on", "starts_at")

    def clean(self):
        cleaned_data = super().clean()
        if cleaned_data.get("title") == "clash":
            raise forms.ValidationError("Two visits cannot share a title.")
        return cleaned_data


@freeze_time("2026-12-05 15:00:00")
def test_a_past_date_is_refused_until_confirmed():
    form = VisitForm({"title": "Lunch", "due_on": "2026-12-04"})

    assert not form.is_valid()
    assert form.errors["due_on"] == [PAST_MESSAGE]
    assert 'type="checkbox" name="confirm_past_date"' in str(form)

    confirmed = VisitForm({"title": "Lunch", "due_on": "2026-12-04", "confirm_past_date": "on"})
    assert confirmed.is_valid(), confirmed.errors


@freeze_time("2026-12-05 15:00:00")
def test_today_and_later_need_no_confirmation_and_the_box_stays_hidden():
    form = VisitForm({"title": "Lunch", "due_on": "2026-12-05", "starts_at": "2026-12-05 16:00"})

    assert form.is_valid(), form.errors
    assert 'type="hidden" name="confirm_past_date"' in str(VisitForm())


@freeze_time("2026-12-05 15:00:00")
def test_a_moment_earlier_today_counts_as_past_for_date_times():
    form = VisitForm({"title": "Lunch", "due_on": "2026-12-06", "starts_at": "2026-12-05 09:00"})

    assert not form.is_valid()
    assert form.errors["starts_at"] == [PAST_MESSAGE]


@freeze_time("2026-12-06 03:00:00")  # already Dec 6 in UTC, still Dec 5 in New York
def test_today_is_the_current_time_zones_today():
    with timezone.override("America/New_York"):
        assert VisitForm({"title": "Lunch", "due_on": "2026-12-05"}).is_valid()
    assert not VisitForm({"title": "Lunch", "due_on": "2026-12-05"}).is_valid()


@freeze_time("2026-12-05 15:00:00")
def test_a_failed_form_opens_with_a_summary_linking_to_each_field():
    form = VisitForm({"title": "clash", "due_on": "not a date"})
    form.is_valid()

    html = str(form)
    summary = re.search(r'<div class="alert alert-danger error-summary" role="alert">(.*?)</div>', html, re.S)
    assert summary is not None
    assert "Two visits cannot share a title." in summary.group(1)
    assert '<a class="alert-link" href="#id_due_on">Due on</a>: Enter a valid date.' in html
    assert html.index("error-summary") < html.index('name="title"')  # at the top of the form
    assert 'id="id_due_on_error"' in html  # and beside the field too


def test_a_form_without_errors_has_no_summary():
    assert "error-summary" not in str(VisitForm())
    assert "error-summary" not in str(VisitForm({"title": "Lunch", "due_on": timezone.localdate().isoformat()}))
