"""Objection library pages: the library (staff read, managers edit), logging from the library and from a
practice's page (htmx), the summary, the role rules, foreign ids refused, and constant query counts."""

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django_scopes import scope
from freezegun import freeze_time

from infra.models import AuditEvent
from outreach.models import ObjectionLog, ObjectionResponse, Touchpoint
from outreach.objections import services as objections
from spas.models import Role
from tests.factories import CredentialFactory, MembershipFactory, UserFactory

from .helpers import HTMX, field_error, make_practice, page_text, rows, url

TODAY = datetime.date(2026, 3, 10)
NOW = "2026-03-10 15:00:00"
LOG = "objection"  # the log form's id prefix


@pytest.fixture(autouse=True)
def _frozen():
    with freeze_time(NOW):
        yield


@pytest.fixture
def manager_client(manager_user, client_for):
    return client_for(manager_user)


@pytest.fixture
def practice(spa):
    return make_practice(spa, name="Glow Dermatology")


def seeded(spa):
    with scope(spa=spa):
        objections.objection_library_ensure(spa=spa)
        return list(ObjectionResponse.objects.filter(spa=spa))


def response_in(spa, category):
    return next(response for response in seeded(spa) if response.category == category)


def log_data(chosen=None, **overrides):
    data = {"category": "too_busy", "raised": "No time", "outcome": "resolved", "raised_on": "2026-03-09", "notes": ""}
    if chosen is not None:
        data["practice"] = str(chosen.public_id)
    data.update(overrides)
    return data


def practice_url(spa, practice):
    return reverse("partners:detail", args=[spa.slug, practice.public_id])


def queries_for(client, path):
    with CaptureQueriesContext(connection) as context:
        response = client.get(path)
    assert response.status_code == 200
    return len(context.captured_queries)


# --- the library -----------------------------------------------------------------------------------


def test_staff_read_the_seeded_library_without_edit_buttons(staff_client, spa):
    response = staff_client.get(url("objection_library", spa))
    text = page_text(response)
    assert response.status_code == 200
    assert "Objection library" in text and "Treatment safety" in text and "Ethics and gifts" in text
    assert "We don&#x27;t accept gifts or payments for referrals." in text
    assert len(rows(ObjectionResponse, spa=spa)) >= 12  # seeded on first use
    assert url("objection_response_create", spa) not in text
    assert "Archive" not in text
    assert 'aria-current="page" href="' + url("objection_library", spa) in text  # the tab lights up


def test_managers_see_edit_archive_and_the_archived_responses(manager_client, spa):
    archived = response_in(spa, "other")
    with scope(spa=spa):
        objections.objection_response_archive(response=archived, actor=None)
    text = page_text(manager_client.get(url("objection_library", spa)))
    assert url("objection_response_create", spa) in text
    assert f'href="{url("objection_response_edit", spa, archived.public_id)}"' not in text
    assert url("objection_response_restore", spa, archived.public_id) in text
    assert "1 archived response" in text


def test_the_library_names_the_credentials_in_the_catalog(staff_client, spa):
    with scope(spa=spa):
        CredentialFactory(spa=spa, person="Ana Ruiz", credential="Certified prenatal massage therapist")
    text = page_text(staff_client.get(url("objection_library", spa)))
    assert "Ana Ruiz — Certified prenatal massage therapist" in text


def test_the_library_takes_the_same_queries_for_few_and_many_rows(owner_client, spa, practice):
    owner_client.get(url("objection_library", spa))  # seeds
    few = queries_for(owner_client, url("objection_library", spa))
    with scope(spa=spa):
        for index in range(15):
            response = ObjectionResponse.objects.create(
                spa=spa, category="too_busy", objection=f"Extra {index}", response="Answer"
            )
            ObjectionLog.objects.create(
                spa=spa, practice=practice, category="too_busy", response=response, outcome="resolved", raised_on=TODAY
            )
            CredentialFactory(spa=spa)
            make_practice(spa)
    assert queries_for(owner_client, url("objection_library", spa)) == few


def test_outsiders_and_anonymous_users_are_kept_out(outsider_client, client, spa):
    response = response_in(spa, "safety")
    for name, args in (
        ("objection_library", ()),
        ("objection_summary", ()),
        ("objection_response_edit", (response.public_id,)),
    ):
        assert outsider_client.get(url(name, spa, *args)).status_code == 404
        anonymous = client.get(url(name, spa, *args))
        assert anonymous.status_code == 302 and anonymous["Location"].startswith("/accounts/login/")


# --- editing responses -----------------------------------------------------------------------------


def test_a_manager_adds_a_response(manager_client, spa, manager_user):
    response = manager_client.post(
        url("objection_response_create", spa),
        {"category": "too_busy", "objection": "Our lunch hour is booked", "response": "We can come at 8am."},
    )
    assert response.status_code == 302 and response["Location"].endswith("#category-too_busy")
    added = [r for r in rows(ObjectionResponse, spa=spa) if r.objection == "Our lunch hour is booked"]
    assert len(added) == 1 and added[0].response == "We can come at 8am."
    assert rows(AuditEvent, spa=spa, action="objection_response.created")[0].actor == manager_user


def test_a_response_without_words_is_refused_beside_the_field(manager_client, spa):
    before = len(seeded(spa))
    response = manager_client.post(url("objection_response_create", spa), {"category": "too_busy", "objection": ""})
    assert response.status_code == 400
    assert field_error(response, "objection") == "This field is required."
    assert field_error(response, "response") == "This field is required."
    assert len(rows(ObjectionResponse, spa=spa)) == before


def test_a_manager_edits_a_response_and_the_archive_survives_a_stale_form(manager_client, spa):
    target = response_in(spa, "safety")
    with scope(spa=spa):
        objections.objection_response_archive(response=target, actor=None)
    response = manager_client.post(
        url("objection_response_edit", spa, target.public_id),
        {"category": "safety", "objection": "Is it safe?", "response": "Yes, with screening."},
    )
    assert response.status_code == 302
    saved = rows(ObjectionResponse, pk=target.pk)[0]
    assert (saved.objection, saved.response) == ("Is it safe?", "Yes, with screening.")
    assert saved.archived_at is not None


def test_staff_may_not_edit_add_or_archive(staff_client, spa):
    target = response_in(spa, "safety")
    assert staff_client.get(url("objection_response_create", spa)).status_code == 403
    assert staff_client.post(url("objection_response_edit", spa, target.public_id), {}).status_code == 403
    assert staff_client.post(url("objection_response_archive", spa, target.public_id)).status_code == 403
    assert rows(ObjectionResponse, pk=target.pk)[0].archived_at is None


def test_archive_and_restore(manager_client, spa):
    target = response_in(spa, "safety")
    assert manager_client.post(url("objection_response_archive", spa, target.public_id)).status_code == 302
    assert rows(ObjectionResponse, pk=target.pk)[0].archived_at is not None
    assert manager_client.post(url("objection_response_restore", spa, target.public_id)).status_code == 302
    assert rows(ObjectionResponse, pk=target.pk)[0].archived_at is None


def test_another_spas_response_is_not_found(manager_client, spa, other_spa):
    foreign = response_in(other_spa, "safety")
    assert manager_client.get(url("objection_response_edit", spa, foreign.public_id)).status_code == 404
    assert manager_client.post(url("objection_response_archive", spa, foreign.public_id)).status_code == 404
    assert rows(ObjectionResponse, pk=foreign.pk)[0].archived_at is None


# --- logging from the library ----------------------------------------------------------------------


def test_staff_log_an_objection_from_the_library(staff_client, spa, practice, staff_user):
    answer = response_in(spa, "too_busy")
    response = staff_client.post(
        url("objection_log_create", spa), log_data(practice, response=str(answer.public_id), outcome="partly")
    )
    assert response.status_code == 302
    (entry,) = rows(ObjectionLog, spa=spa)
    assert (entry.practice, entry.response, entry.outcome, entry.raised_on, entry.logged_by) == (
        practice,
        answer,
        "partly",
        datetime.date(2026, 3, 9),
        staff_user,
    )
    assert rows(AuditEvent, spa=spa, action="objection.logged")


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"category": ""}, "category", "This field is required."),
        ({"outcome": ""}, "outcome", "This field is required."),
        ({"raised_on": "2026-03-11"}, "raised_on", "An objection is logged once it has been raised"),
        ({"response": "WRONG_CATEGORY"}, "response", "Choose a response from the “Too busy” category."),
        ({"response": "ARCHIVED"}, "response", "Select a valid choice."),
        ({"response": "FOREIGN"}, "response", "Select a valid choice."),
        ({"practice": "FOREIGN_PRACTICE"}, "practice", "Select a valid choice."),
    ],
)
def test_a_refused_log_shows_the_error_beside_the_field_and_writes_nothing(
    owner_client, spa, other_spa, practice, change, field, message
):
    values = {
        "WRONG_CATEGORY": lambda: response_in(spa, "safety").public_id,
        "ARCHIVED": lambda: _archived_response(spa).public_id,
        "FOREIGN": lambda: response_in(other_spa, "too_busy").public_id,
        "FOREIGN_PRACTICE": lambda: make_practice(other_spa, name="Outsider Clinic").public_id,
    }
    change = {key: str(values[value]()) if value in values else value for key, value in change.items()}
    response = owner_client.post(url("objection_log_create", spa), log_data(practice, **change))
    assert response.status_code == 400
    assert field_error(response, field, prefix=LOG).startswith(message)
    assert rows(ObjectionLog) == []
    assert "Outsider Clinic" not in page_text(response)


def _archived_response(spa):
    target = response_in(spa, "too_busy")
    with scope(spa=spa):
        objections.objection_response_archive(response=target, actor=None)
    return target


def test_the_response_menu_follows_the_category(staff_client, spa):
    responses = seeded(spa)
    response = staff_client.get(url("objection_response_options", spa, query="category=safety"), **HTMX)
    text = page_text(response)
    assert response.status_code == 200
    assert 'id="objection_response"' in text
    for answer in responses:
        assert (str(answer.public_id) in text) == (answer.category == "safety")
    everything = page_text(staff_client.get(url("objection_response_options", spa), **HTMX))
    assert all(str(answer.public_id) in everything for answer in responses)
    assert "<optgroup" in everything


# --- a practice's page -----------------------------------------------------------------------------


def test_the_practice_page_shows_its_objections_and_the_form(staff_client, spa, practice):
    other = make_practice(spa, name="Beacon Skin")
    with scope(spa=spa):
        ObjectionLog.objects.create(
            spa=spa, practice=practice, category="safety", raised="Fresh incisions?", outcome="partly", raised_on=TODAY
        )
        ObjectionLog.objects.create(
            spa=spa, practice=other, category="other", raised="Not here", outcome="resolved", raised_on=TODAY
        )
    text = page_text(staff_client.get(practice_url(spa, practice)))
    assert 'id="practice-objections"' in text
    assert "Fresh incisions?" in text and "Partly resolved" in text
    assert "Not here" not in text
    assert url("objection_practice_log", spa, practice.public_id) in text
    assert 'name="practice"' not in text.split('id="practice-objections"')[1].split("</section>")[0]


def test_the_practice_page_takes_the_same_queries_for_few_and_many_objections(owner_client, spa, practice):
    with scope(spa=spa):  # one of each already: the other panels' queries for a first row are not ours to count
        ObjectionLog.objects.create(
            spa=spa,
            practice=practice,
            category="too_busy",
            outcome="resolved",
            raised_on=TODAY,
            touchpoint=Touchpoint.objects.create(spa=spa, practice=practice, kind="meeting", occurred_on=TODAY),
        )
    owner_client.get(practice_url(spa, practice))
    few = queries_for(owner_client, practice_url(spa, practice))
    with scope(spa=spa):
        for index in range(11):
            touchpoint = Touchpoint.objects.create(spa=spa, practice=practice, kind="meeting", occurred_on=TODAY)
            ObjectionLog.objects.create(
                spa=spa,
                practice=practice,
                category="too_busy",
                raised=f"Said {index}",
                outcome="resolved",
                raised_on=TODAY,
                touchpoint=touchpoint,
                response=ObjectionResponse.objects.filter(spa=spa).first(),
            )
    assert queries_for(owner_client, practice_url(spa, practice)) == few
    text = page_text(owner_client.get(practice_url(spa, practice)))
    assert "See every objection raised here" in text and f"?practice={practice.public_id}" in text


def test_logging_from_the_practice_page_with_htmx_answers_the_card(staff_client, spa, practice):
    with scope(spa=spa):
        call = Touchpoint.objects.create(spa=spa, practice=practice, kind="phone_call", occurred_on=TODAY)
    answer = response_in(spa, "too_busy")
    response = staff_client.post(
        url("objection_practice_log", spa, practice.public_id),
        log_data(response=str(answer.public_id), touchpoint=str(call.public_id), raised="Lunch is sacred"),
        **HTMX,
    )
    text = page_text(response)
    assert response.status_code == 200
    assert text.startswith('<section class="card shadow-sm mb-4" id="practice-objections"')
    assert "Objection logged." in text and "Lunch is sacred" in text
    (entry,) = rows(ObjectionLog, spa=spa)
    assert (entry.practice, entry.touchpoint, entry.response) == (practice, call, answer)


def test_a_refused_htmx_log_comes_back_with_the_errors_and_writes_nothing(staff_client, spa, other_spa, practice):
    elsewhere = make_practice(spa, name="Elsewhere Clinic")
    with scope(spa=spa):
        foreign_call = Touchpoint.objects.create(spa=spa, practice=elsewhere, kind="phone_call", occurred_on=TODAY)
    response = staff_client.post(
        url("objection_practice_log", spa, practice.public_id),
        log_data(touchpoint=str(foreign_call.public_id), outcome=""),
        **HTMX,
    )
    assert response.status_code == 400
    assert (
        field_error(response, "touchpoint", prefix=LOG)
        == "Select a valid choice. That choice is not one of the available choices."
    )
    assert field_error(response, "outcome", prefix=LOG) == "This field is required."
    assert "data-swap-errors" in page_text(response) and "<details open>" in page_text(response)
    assert rows(ObjectionLog) == []


def test_a_plain_post_from_the_practice_page_redirects_or_shows_a_page(staff_client, spa, practice):
    response = staff_client.post(url("objection_practice_log", spa, practice.public_id), log_data())
    assert response.status_code == 302 and response["Location"] == practice_url(spa, practice)
    refused = staff_client.post(url("objection_practice_log", spa, practice.public_id), log_data(category=""))
    assert refused.status_code == 400
    assert "Log an objection raised at Glow Dermatology" in page_text(refused)
    assert len(rows(ObjectionLog)) == 1


def test_another_spas_practice_is_not_found(staff_client, spa, other_spa):
    foreign = make_practice(other_spa)
    assert staff_client.post(url("objection_practice_log", spa, foreign.public_id), log_data()).status_code == 404
    assert rows(ObjectionLog) == []


# --- removing a log --------------------------------------------------------------------------------


def _logged_by(spa, practice, user):
    with scope(spa=spa):
        return objections.objection_log_create(
            spa=spa, practice=practice, category="other", outcome="resolved", raised_on=TODAY, actor=user
        )


def test_who_logged_it_or_a_manager_may_remove_a_log(spa, practice, staff_user, owner, client_for, manager_client):
    colleague = client_for(_member(spa))
    mine = _logged_by(spa, practice, staff_user)
    theirs = _logged_by(spa, practice, owner)
    assert colleague.post(url("objection_log_delete", spa, mine.public_id)).status_code == 403
    staff = client_for(staff_user)
    assert staff.post(url("objection_log_delete", spa, theirs.public_id)).status_code == 403
    response = staff.post(url("objection_log_delete", spa, mine.public_id), {"from": "practice"}, **HTMX)
    assert response.status_code == 200 and "Objection removed." in page_text(response)
    assert manager_client.post(url("objection_log_delete", spa, theirs.public_id)).status_code == 302
    assert rows(ObjectionLog) == []


def _member(spa):
    return MembershipFactory(spa=spa, role=Role.STAFF, user=UserFactory()).user


# --- the summary -----------------------------------------------------------------------------------


def test_the_summary_shows_the_numbers_as_text(staff_client, spa, practice):
    answer = response_in(spa, "too_busy")
    with scope(spa=spa):
        for outcome in ("resolved", "resolved", "partly", "unresolved"):
            ObjectionLog.objects.create(
                spa=spa, practice=practice, category="too_busy", response=answer, outcome=outcome, raised_on=TODAY
            )
        ObjectionLog.objects.create(
            spa=spa, practice=practice, category="safety", outcome="resolved", raised_on=datetime.date(2024, 1, 1)
        )
    response = staff_client.get(url("objection_summary", spa))
    text = page_text(response)
    assert response.status_code == 200
    row = text.split(f'data-response="{answer.public_id}"')[1].split("</tr>")[0]
    assert "data-used>4</td>" in row
    assert "2 (50%)" in row and "1 (25%)" in row
    category = text.split('data-category="too_busy"')[1].split("</tr>")[0]
    assert "data-last-year>4<" in category and "data-all-time>4<" in category and "data-resolved>50%<" in category
    safety = text.split('data-category="safety"')[1].split("</tr>")[0]
    assert "data-last-year>0<" in safety and "data-all-time>1<" in safety
    assert 'aria-hidden="true"' in row  # the bar is decoration; the numbers are the text
    assert "Glow Dermatology" in text  # the list of logged objections


def test_the_summary_list_filters_and_paginates(staff_client, spa, practice):
    other = make_practice(spa, name="Beacon Skin")
    with scope(spa=spa):
        for index in range(30):
            ObjectionLog.objects.create(
                spa=spa,
                practice=practice,
                category="too_busy",
                raised=f"Glow said {index}",
                outcome="resolved",
                raised_on=TODAY,
            )
        ObjectionLog.objects.create(
            spa=spa, practice=other, category="safety", raised="Beacon said", outcome="partly", raised_on=TODAY
        )
    first = page_text(staff_client.get(url("objection_summary", spa)))
    assert "Page 1 of 2" in first
    safety = page_text(staff_client.get(url("objection_summary", spa, query="category=safety")))
    assert "Beacon said" in safety and "Glow said" not in safety
    at_beacon = page_text(staff_client.get(url("objection_summary", spa, query=f"practice={other.public_id}")))
    assert "Objections logged at Beacon Skin" in at_beacon and "Glow said" not in at_beacon


def test_the_summary_of_a_spa_with_nothing_logged_invites_logging(staff_client, spa):
    text = page_text(staff_client.get(url("objection_summary", spa)))
    assert "No objections logged yet." in text


def test_the_summary_filter_refuses_another_spas_practice(staff_client, spa, other_spa):
    foreign = make_practice(other_spa, name="Outsider Clinic")
    response = staff_client.get(url("objection_summary", spa, query=f"practice={foreign.public_id}"))
    assert response.status_code == 404


def test_the_summary_takes_the_same_queries_for_few_and_many_rows(owner_client, spa, practice):
    answer = response_in(spa, "too_busy")
    with scope(spa=spa):
        ObjectionLog.objects.create(
            spa=spa, practice=practice, category="too_busy", response=answer, outcome="resolved", raised_on=TODAY
        )
    owner_client.get(url("objection_summary", spa))  # the first visit notes the spa in the session
    few = queries_for(owner_client, url("objection_summary", spa))
    with scope(spa=spa):
        for index in range(40):
            extra = make_practice(spa)
            response = ObjectionResponse.objects.create(spa=spa, category="safety", objection=f"S{index}", response="A")
            ObjectionLog.objects.create(
                spa=spa, practice=extra, category="safety", response=response, outcome="partly", raised_on=TODAY
            )
    assert queries_for(owner_client, url("objection_summary", spa)) == few
