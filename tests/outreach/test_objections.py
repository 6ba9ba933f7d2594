"""The objection library's services: seeding the defaults (once per spa and category), editing and archiving
responses, logging objections with their checks, and the summary's numbers against a hand-built fixture."""

import datetime

import pytest
from django.core.exceptions import ValidationError
from django_scopes import scope, scopes_disabled
from freezegun import freeze_time

from infra.models import AuditEvent
from outreach.models import ObjectionCategory, ObjectionLog, ObjectionResponse, Touchpoint
from outreach.objections import selectors as objections_selectors
from outreach.objections import services as objections_services
from outreach.objections.demo import seed_objections

from .helpers import make_practice, rows

TODAY = datetime.date(2026, 3, 10)
Outcome = ObjectionLog.Outcome


def ensure(spa):
    with scope(spa=spa):
        return objections_services.objection_library_ensure(spa=spa)


def library_of(spa):
    return rows(ObjectionResponse, spa=spa)


def new_response(spa, category="too_busy", objection="Our lunch hour is booked", **fields):
    with scope(spa=spa):
        response = ObjectionResponse(category=category, objection=objection, response="We can come at 8am.", **fields)
        return objections_services.objection_response_save(spa=spa, response=response, actor=None)


def log(spa, practice, *, category="too_busy", outcome=Outcome.RESOLVED, raised_on=TODAY, response=None, **extra):
    with scope(spa=spa):
        return objections_services.objection_log_create(
            spa=spa,
            practice=practice,
            category=category,
            outcome=outcome,
            raised_on=raised_on,
            response=response,
            actor=None,
            **extra,
        )


# --- seeding ---------------------------------------------------------------------------------------


def test_first_use_seeds_two_or_three_sound_responses_per_category(spa):
    created = ensure(spa)
    library = library_of(spa)
    assert created == len(library) >= 12
    per_category = {category: [r for r in library if r.category == category] for category in ObjectionCategory.values}
    assert all(2 <= len(responses) <= 3 for responses in per_category.values())
    texts = " ".join(r.response for r in library)
    for phrase in ("licence", "continuing education", "catalog", "contraindication", "pregnancy-safe", "15-minute"):
        assert phrase in texts
    assert "permission" in " ".join(r.response for r in per_category["value_unclear"])
    ethics = " ".join(r.response for r in per_category["ethics_gifts"])
    assert "never pay for referrals" in ethics and "non-monetary" in ethics and "cash" in ethics
    assert "Serene Test Spa" in texts  # the spa's own name, not a placeholder
    assert "%(spa)s" not in texts
    events = rows(AuditEvent, spa=spa, action="objection_library.seeded")
    assert len(events) == 1 and sorted(events[0].detail["categories"]) == sorted(ObjectionCategory.values)


def test_seeding_is_idempotent_and_per_spa(spa, other_spa):
    ensure(spa)
    count = len(library_of(spa))
    assert ensure(spa) == 0
    assert len(library_of(spa)) == count
    assert library_of(other_spa) == []
    ensure(other_spa)
    assert len(library_of(other_spa)) == count
    assert {r.spa_id for r in library_of(other_spa)} == {other_spa.pk}


def test_a_category_the_spa_emptied_or_archived_is_never_seeded_again(spa):
    ensure(spa)
    with scope(spa=spa):
        for response in ObjectionResponse.objects.filter(spa=spa, category="too_busy"):
            objections_services.objection_response_archive(response=response, actor=None)
        # Move every "other" response elsewhere: the category is empty now, but it was seeded once.
        for response in ObjectionResponse.objects.filter(spa=spa, category="other"):
            response.category = "value_unclear"
            objections_services.objection_response_save(spa=spa, response=response, actor=None)
    before = len(library_of(spa))
    assert ensure(spa) == 0
    assert len(library_of(spa)) == before
    assert not [r for r in library_of(spa) if r.category == "other"]
    assert all(r.archived_at for r in library_of(spa) if r.category == "too_busy")


def test_a_category_missing_from_an_older_library_is_seeded_alone(spa):
    ensure(spa)
    with scopes_disabled():
        ObjectionResponse.objects.filter(spa=spa, category="ethics_gifts").delete()
        # Pretend the library was seeded before the category existed.
        AuditEvent.objects.filter(spa=spa, action="objection_library.seeded")._raw_delete(AuditEvent.objects.db)
        AuditEvent.objects.create(spa=spa, action="objection_library.seeded", detail={"categories": ["too_busy"]})
    added = ensure(spa)
    assert added == len(objections_services.DEFAULT_RESPONSES[ObjectionCategory.ETHICS_GIFTS])
    assert len([r for r in library_of(spa) if r.category == "ethics_gifts"]) == added
    assert len([r for r in library_of(spa) if r.category == "too_busy"]) == 3  # not doubled


def test_a_spa_with_its_own_responses_is_still_seeded_for_the_other_categories(spa):
    new_response(spa, category="too_busy")
    ensure(spa)
    too_busy = [r for r in library_of(spa) if r.category == "too_busy"]
    assert [r.objection for r in too_busy] == ["Our lunch hour is booked"]
    assert {r.category for r in library_of(spa)} == set(ObjectionCategory.values)


# --- responses -------------------------------------------------------------------------------------


def test_saving_archiving_and_restoring_a_response_is_audited(spa, owner):
    response = new_response(spa)
    with scope(spa=spa):
        response.response = "Fifteen minutes, lunch on us."
        objections_services.objection_response_save(spa=spa, response=response, actor=owner)
        objections_services.objection_response_archive(response=response, actor=owner)
        objections_services.objection_response_archive(response=response, actor=owner)  # twice: one event
        assert response.archived_at is not None
        objections_services.objection_response_restore(response=response, actor=owner)
        assert response.archived_at is None
    actions = [event.action for event in rows(AuditEvent, spa=spa, object_id=str(response.public_id))]
    assert sorted(actions) == sorted(
        [
            "objection_response.created",
            "objection_response.updated",
            "objection_response.archived",
            "objection_response.restored",
        ]
    )


def test_a_response_of_another_spa_cannot_be_saved_into_this_one(spa, other_spa):
    foreign = new_response(other_spa)
    with scope(spa=spa), pytest.raises(ValidationError):
        objections_services.objection_response_save(spa=spa, response=foreign, actor=None)


# --- logging ---------------------------------------------------------------------------------------


@freeze_time("2026-03-10 15:00:00")
def test_an_objection_is_logged_with_its_response_and_audited(spa, owner):
    practice = make_practice(spa, name="Glow Dermatology")
    response = new_response(spa)
    with scope(spa=spa):
        touchpoint = Touchpoint.objects.create(spa=spa, practice=practice, kind="phone_call", occurred_on=TODAY)
        entry = objections_services.objection_log_create(
            spa=spa,
            practice=practice,
            category="too_busy",
            raised="No time for a meeting",
            response=response,
            outcome=Outcome.PARTLY,
            notes="Call back in May",
            raised_on=TODAY,
            touchpoint=touchpoint,
            actor=owner,
        )
    saved = rows(ObjectionLog, pk=entry.pk)[0]
    assert (saved.category, saved.outcome, saved.response_id, saved.touchpoint_id) == (
        "too_busy",
        "partly",
        response.pk,
        touchpoint.pk,
    )
    assert saved.logged_by == owner
    assert rows(Touchpoint, spa=spa) == [touchpoint]  # logging an objection logs no touchpoint of its own
    event = rows(AuditEvent, spa=spa, action="objection.logged")[0]
    assert event.actor == owner and event.object_id == str(entry.public_id)


@freeze_time("2026-03-10 15:00:00")
@pytest.mark.parametrize(
    ("case", "field"),
    [
        ("other category", "response"),
        ("archived", "response"),
        ("foreign response", "response"),
        ("future", "raised_on"),
        ("touchpoint elsewhere", "touchpoint"),
        ("foreign practice", "practice"),
    ],
)
def test_logging_refuses_what_does_not_fit(spa, other_spa, case, field):
    practice = make_practice(spa)
    elsewhere = make_practice(spa, name="Elsewhere Clinic")
    response = new_response(spa, category="too_busy")
    kwargs = {"practice": practice, "category": "too_busy", "response": response, "raised_on": TODAY}
    if case == "other category":
        kwargs["category"] = "safety"
    elif case == "archived":
        with scope(spa=spa):
            objections_services.objection_response_archive(response=response, actor=None)
    elif case == "foreign response":
        kwargs["response"] = new_response(other_spa)
    elif case == "future":
        kwargs["raised_on"] = TODAY + datetime.timedelta(days=1)
    elif case == "touchpoint elsewhere":
        with scope(spa=spa):
            kwargs["touchpoint"] = Touchpoint.objects.create(
                spa=spa, practice=elsewhere, kind="phone_call", occurred_on=TODAY
            )
    elif case == "foreign practice":
        kwargs["practice"] = make_practice(other_spa)
    with pytest.raises(ValidationError) as refused:
        log(spa, **kwargs)
    assert field in refused.value.message_dict
    assert rows(ObjectionLog) == []


def test_the_spa_day_decides_what_is_the_future(spa):
    # 11pm on March 9 in New York is already March 10 in UTC: logging "today" (the 9th) is fine, the 10th is not.
    practice = make_practice(spa)
    with freeze_time("2026-03-10 03:30:00"):
        log(spa, practice, raised_on=datetime.date(2026, 3, 9))
        with pytest.raises(ValidationError):
            log(spa, practice, raised_on=datetime.date(2026, 3, 10))


def test_removing_a_log_is_audited(spa, owner):
    practice = make_practice(spa)
    entry = log(spa, practice)
    with scope(spa=spa):
        objections_services.objection_log_delete(log=entry, actor=owner)
    assert rows(ObjectionLog) == []
    assert rows(AuditEvent, spa=spa, action="objection.deleted")[0].object_id == str(entry.public_id)


# --- the summary -----------------------------------------------------------------------------------


@pytest.fixture
def hand_built(spa, other_spa):
    """Ten objections at two practices, counted by hand below; one in another spa that must not count."""
    glow, beacon = make_practice(spa, name="Glow Dermatology"), make_practice(spa, name="Beacon Skin")
    lunch = new_response(spa, category="too_busy", objection="Too busy: lunch")
    pad = new_response(spa, category="too_busy", objection="Too busy: pad")
    licence = new_response(spa, category="qualifications", objection="Licences")
    retired = new_response(spa, category="safety", objection="Old safety answer")
    unused = new_response(spa, category="safety", objection="Never tried")
    old = datetime.date(2024, 12, 1)  # more than 12 months before TODAY
    year_ago = datetime.date(2025, 3, 10)  # exactly a year before: outside "last 12 months"
    entries = [
        (glow, "too_busy", lunch, Outcome.RESOLVED, TODAY),
        (glow, "too_busy", lunch, Outcome.RESOLVED, datetime.date(2026, 1, 5)),
        (beacon, "too_busy", lunch, Outcome.PARTLY, datetime.date(2025, 6, 1)),
        (beacon, "too_busy", lunch, Outcome.UNRESOLVED, old),
        (glow, "too_busy", pad, Outcome.UNRESOLVED, datetime.date(2025, 11, 1)),
        (glow, "qualifications", licence, Outcome.RESOLVED, year_ago),
        (beacon, "qualifications", None, Outcome.PARTLY, datetime.date(2025, 3, 11)),
        (beacon, "safety", retired, Outcome.RESOLVED, datetime.date(2025, 8, 1)),
        (glow, "other", None, Outcome.UNRESOLVED, datetime.date(2026, 2, 2)),
        (glow, "other", None, Outcome.RESOLVED, old),
    ]
    with freeze_time("2026-03-10 15:00:00"):
        for practice, category, response, outcome, day in entries:
            log(spa, practice, category=category, response=response, outcome=outcome, raised_on=day)
        log(other_spa, make_practice(other_spa), category="too_busy", raised_on=TODAY)
    with scope(spa=spa):
        objections_services.objection_response_archive(response=retired, actor=None)
    return {"lunch": lunch, "pad": pad, "licence": licence, "retired": retired, "unused": unused}


def summary_of(spa):
    with scope(spa=spa):
        return objections_selectors.objection_summary(spa=spa, today=TODAY)


def test_the_summary_counts_objections_per_category(spa, hand_built):
    summary = summary_of(spa)
    by_category = {row["value"]: row for row in summary["categories"]}
    assert [row["value"] for row in summary["categories"]] == ObjectionCategory.values
    assert (by_category["too_busy"]["last_year"], by_category["too_busy"]["all_time"]) == (4, 5)
    assert (by_category["qualifications"]["last_year"], by_category["qualifications"]["all_time"]) == (1, 2)
    assert (by_category["safety"]["last_year"], by_category["safety"]["all_time"]) == (1, 1)
    assert (by_category["other"]["last_year"], by_category["other"]["all_time"]) == (1, 2)
    assert (by_category["value_unclear"]["all_time"], by_category["value_unclear"]["resolved_share"]) == (0, None)
    assert by_category["too_busy"]["resolved_share"] == 40  # 2 of 5
    assert by_category["qualifications"]["resolved_share"] == 50
    assert (summary["total_last_year"], summary["total_all_time"]) == (7, 10)
    assert by_category["too_busy"]["all_time_bar"] == 100 and by_category["safety"]["all_time_bar"] == 20


def test_the_summary_says_which_responses_work(spa, hand_built):
    summary = summary_of(spa)
    by_response = {row["response"].pk: row for row in summary["responses"]}
    lunch = by_response[hand_built["lunch"].pk]
    assert (lunch["used"], lunch["resolved"], lunch["partly"], lunch["unresolved"]) == (4, 2, 1, 1)
    assert (lunch["resolved_share"], lunch["partly_share"], lunch["unresolved_share"]) == (50, 25, 25)
    assert [(s["outcome"], s["x"], s["width"]) for s in lunch["segments"]] == [
        ("resolved", 0, 50),
        ("partly", 50, 25),
        ("unresolved", 75, 25),
    ]
    pad = by_response[hand_built["pad"].pk]
    assert (pad["used"], pad["resolved_share"], pad["partly_share"]) == (1, 0, 0)
    assert by_response[hand_built["licence"].pk]["resolved_share"] == 100
    # Archived but used: still reported. Unused and active: listed with no uses.
    assert by_response[hand_built["retired"].pk]["used"] == 1
    assert by_response[hand_built["unused"].pk]["used"] == 0
    assert by_response[hand_built["unused"].pk]["resolved_share"] is None
    without = summary["without_response"]
    assert (without["used"], without["resolved"], without["partly"], without["unresolved"]) == (3, 1, 1, 1)
    assert without["resolved_share"] == 33
    # Within a category the most used response comes first.
    too_busy = [row["response"].pk for row in summary["responses"] if row["response"].category == "too_busy"]
    assert too_busy == [hand_built["lunch"].pk, hand_built["pad"].pk]


def test_a_summary_of_nothing_is_all_zeros(spa):
    summary = summary_of(spa)
    assert summary["total_all_time"] == 0
    assert all(row["all_time"] == 0 and row["all_time_bar"] == 0 for row in summary["categories"])
    assert summary["without_response"]["used"] == 0 and summary["without_response"]["segments"] == []


def test_one_year_before_handles_a_leap_day():
    assert objections_selectors.one_year_before(datetime.date(2028, 2, 29)) == datetime.date(2027, 2, 28)
    assert objections_selectors.one_year_before(TODAY) == datetime.date(2025, 3, 10)


# --- demo data -------------------------------------------------------------------------------------


def test_the_demo_objections_are_seeded_once(spa, owner):
    for name in ("Charles River Dermatology", "Contour Plastic Surgery", "Peak Sports Medicine"):
        make_practice(spa, name=name)
    first = seed_objections(spa, owner)
    assert first == len(rows(ObjectionLog, spa=spa)) >= 8
    assert seed_objections(spa, owner) == 0
    assert len(rows(ObjectionLog, spa=spa)) == first
    named = {entry.practice.name for entry in rows(ObjectionLog, spa=spa)}
    assert {"Charles River Dermatology", "Contour Plastic Surgery", "Peak Sports Medicine"} <= named
    assert sum(1 for entry in rows(ObjectionLog, spa=spa) if entry.response_id) >= 7
