"""The inbox as a work queue (issue 21 §7): opens on Open, most urgent first; New per member and the navigation
badge; bulk assign, mark read and archive with Undo; the referralsChanged event; outsiders; query budgets."""

import datetime
import json
import re
from urllib.parse import urlsplit

import pytest
from django.utils import timezone
from django_scopes import scope

from infra.models import AuditEvent
from referrals import inbox_services
from referrals.models import Referral, ReferralEvent, ReferralView, Status
from referrals.selectors import new_count, referral_inbox
from spas.models import Membership

from .spa_helpers import HTMX, action_url, listed_patients, make_referral, page_text, tab_counts, url

NOW = timezone.now()


def _due_in(hours, **fields):
    return {"first_contact_due_at": timezone.now() + datetime.timedelta(hours=hours), **fields}


def _names(response):
    return [name.split()[-1] for name in listed_patients(response)]


def _refresh(referral):
    with scope(spa=referral.spa):
        return Referral.objects.get(pk=referral.pk)


def _triggers(response):
    return json.loads(response["HX-Trigger"])


def _nav(response):
    return page_text(response).split('<ul class="navbar-nav me-auto">', 1)[1].split("</ul>", 1)[0]


def _new_badge(html):
    match = re.search(r'<span class="badge rounded-pill text-bg-primary" data-badge="new">(\d+)', html)
    return int(match.group(1)) if match else 0


def _membership(spa, user):
    with scope(spa=spa):
        return Membership.objects.get(spa=spa, user=user)


def _bulk(client, spa, action, referrals, htmx=True, **extra):
    data = {"action": action, "referral": [str(referral.public_id) for referral in referrals], **extra}
    return client.post(url("bulk", spa), data, **(HTMX if htmx else {}))


# --- opens on Open, most urgent first -----------------------------------------------------------------


def test_the_inbox_opens_on_open_with_the_overdue_referral_first(owner_client, spa):
    make_referral(spa, patient_last_name="Later", **_due_in(30))
    make_referral(spa, patient_last_name="Soon", **_due_in(2))
    make_referral(spa, patient_last_name="Overdue", **_due_in(-5))
    make_referral(spa, patient_last_name="Booked", status=Status.SCHEDULED, **_due_in(-48))
    make_referral(spa, patient_last_name="Done", status=Status.COMPLETED, **_due_in(-72))

    response = owner_client.get(url("inbox", spa))

    # Awaiting a first contact, overdue first, by due time; then the rest of what is open; nothing closed.
    assert _names(response) == ["Overdue", "Soon", "Later", "Booked"]
    page = page_text(response)
    assert re.search(r'class="nav-link active" aria-current="page" href="\?status=open"', page)
    assert '<option value="open" selected>Open</option>' in page


def test_a_first_contact_already_tried_does_not_jump_the_queue(owner_client, spa):
    make_referral(spa, patient_last_name="Tried", status=Status.CONTACTED, **_due_in(-10))
    make_referral(spa, patient_last_name="Waiting", **_due_in(10))

    assert _names(owner_client.get(url("inbox", spa))) == ["Waiting", "Tried"]


def test_ties_on_the_due_time_go_by_arrival(owner_client, spa):
    due = timezone.now() + datetime.timedelta(hours=5)
    make_referral(spa, patient_last_name="Second", first_contact_due_at=due, received_at=NOW)
    make_referral(
        spa, patient_last_name="First", first_contact_due_at=due, received_at=NOW - datetime.timedelta(hours=1)
    )

    assert _names(owner_client.get(url("inbox", spa))) == ["First", "Second"]


def test_other_tabs_keep_a_sensible_order(owner_client, spa):
    soon = timezone.now() + datetime.timedelta(days=1)
    later = timezone.now() + datetime.timedelta(days=5)
    make_referral(spa, patient_last_name="Later", status=Status.SCHEDULED, scheduled_for=later)
    make_referral(spa, patient_last_name="Soon", status=Status.SCHEDULED, scheduled_for=soon)
    make_referral(spa, patient_last_name="Old", status=Status.COMPLETED, received_at=NOW - datetime.timedelta(days=9))
    make_referral(spa, patient_last_name="Recent", status=Status.COMPLETED, received_at=NOW)

    assert _names(owner_client.get(url("inbox", spa, query="status=scheduled"))) == ["Soon", "Later"]
    assert _names(owner_client.get(url("inbox", spa, query="status=completed"))) == ["Recent", "Old"]


def test_all_is_one_click_away_and_an_empty_open_tab_says_so(owner_client, spa):
    make_referral(spa, patient_last_name="Done", status=Status.COMPLETED)

    page = page_text(owner_client.get(url("inbox", spa)))

    assert "Nothing open" in page
    assert "No referrals yet." not in page
    assert tab_counts(owner_client.get(url("inbox", spa)))["all"] == 1
    assert _names(owner_client.get(url("inbox", spa, query="status="))) == ["Done"]


def test_the_overdue_link_of_the_dashboard_still_lists_every_overdue_referral(owner_client, spa):
    make_referral(spa, patient_last_name="Late", **_due_in(-1))
    make_referral(spa, patient_last_name="Fine", **_due_in(10))

    assert _names(owner_client.get(url("inbox", spa, query="overdue=1"))) == ["Late"]


# --- New, per member ---------------------------------------------------------------------------------


def test_a_referral_is_new_until_this_member_opens_it(owner_client, staff_client, spa):
    opened = make_referral(spa, patient_last_name="Opened")
    make_referral(spa, patient_last_name="Unopened")

    owner_client.get(url("detail", spa, opened.public_id))

    owner_page = page_text(owner_client.get(url("inbox", spa)))
    rows = dict(re.findall(r'<tr data-referral="([^"]+)"(.*?)</tr>', owner_page, re.S))
    assert "data-new" not in rows[str(opened.public_id)]
    assert sum("data-new" in row for row in rows.values()) == 1
    # Per member: the staff member has opened neither.
    assert page_text(staff_client.get(url("inbox", spa))).count("data-new") == 2


def test_referrals_from_before_a_member_joined_are_not_new_to_them(spa, owner, client_for, django_user_model):
    make_referral(spa, patient_last_name="Before", received_at=NOW - datetime.timedelta(days=1))
    newcomer = django_user_model.objects.create_user(email="new@example.com", password="x", full_name="New Comer")
    with scope(spa=spa):
        Membership.objects.create(spa=spa, user=newcomer)
    make_referral(spa, patient_last_name="After")

    page = page_text(client_for(newcomer).get(url("inbox", spa)))

    assert page.count("data-new") == 1
    assert _new_badge(page) == 1


def test_closed_and_archived_referrals_are_not_new(owner_client, owner, spa):
    make_referral(spa, status=Status.COMPLETED)
    spam = make_referral(spa)
    make_referral(spa)
    with scope(spa=spa):
        inbox_services.referrals_archive(spa=spa, referrals=[spam], reason="spam", actor=owner)
        assert new_count(membership=_membership(spa, owner)) == 1


def test_the_navigation_badge_counts_new_referrals_for_the_current_member(owner_client, staff_client, spa):
    first = make_referral(spa)
    make_referral(spa)
    make_referral(spa)

    assert _new_badge(_nav(owner_client.get(f"/s/{spa.slug}/"))) == 3
    owner_client.get(url("detail", spa, first.public_id))

    assert _new_badge(_nav(owner_client.get(f"/s/{spa.slug}/"))) == 2  # the cached count follows at once
    assert _new_badge(_nav(staff_client.get(f"/s/{spa.slug}/"))) == 3


def test_no_new_badge_when_everything_was_opened(owner_client, spa):
    referral = make_referral(spa)
    owner_client.get(url("detail", spa, referral.public_id))

    assert 'data-badge="new"' not in _nav(owner_client.get(f"/s/{spa.slug}/"))


def test_the_badge_partial_is_what_the_page_reloads_after_an_htmx_action(owner_client, spa):
    make_referral(spa)
    make_referral(spa, **_due_in(-1))

    nav = _nav(owner_client.get(f"/s/{spa.slug}/"))
    partial = owner_client.get(url("nav_badges", spa), **HTMX)

    assert f'hx-get="{url("nav_badges", spa)}" hx-trigger="referralsChanged from:body"' in nav
    assert partial.status_code == 200
    assert _new_badge(page_text(partial)) == 2
    assert '<span class="badge rounded-pill text-bg-danger">1<span class="visually-hidden"> overdue</span>' in (
        page_text(partial)
    )


def test_a_new_referral_arriving_shows_in_the_badge_at_once(owner_client, spa, django_capture_on_commit_callbacks):
    from .spa_helpers import receive_referral

    assert _new_badge(_nav(owner_client.get(f"/s/{spa.slug}/"))) == 0
    with django_capture_on_commit_callbacks(execute=True):
        receive_referral(spa)

    assert _new_badge(_nav(owner_client.get(f"/s/{spa.slug}/"))) == 1


# --- bulk actions ------------------------------------------------------------------------------------


def test_assign_to_me_assigns_audits_and_offers_undo(owner_client, owner, staff_user, spa):
    first = make_referral(spa, assignee=staff_user)
    second = make_referral(spa)

    response = _bulk(owner_client, spa, "assign_me", [first, second])

    assert response.status_code == 204
    triggers = _triggers(response)
    assert "referralsChanged" in triggers
    assert triggers["showToast"]["message"] == "2 referrals assigned to you."
    assert _refresh(first).assignee == owner
    assert _refresh(second).assignee == owner
    with scope(spa=spa):
        assert AuditEvent.objects.filter(action="referral.assigned").count() == 2
        assert ReferralEvent.objects.filter(kind=ReferralEvent.Kind.ASSIGNED).count() == 2

    undo = owner_client.post(triggers["showToast"]["undoUrl"], **HTMX)

    assert undo.status_code == 204
    assert "referralsChanged" in _triggers(undo)
    assert _refresh(first).assignee == staff_user
    assert _refresh(second).assignee is None


def test_assign_to_a_person(owner_client, staff_client, staff_user, spa):
    referral = make_referral(spa)
    assert _new_badge(_nav(owner_client.get(f"/s/{spa.slug}/"))) == 1

    response = _bulk(owner_client, spa, "assign", [referral], assignee=staff_user.pk)

    assert response.status_code == 204
    assert _triggers(response)["showToast"]["message"] == "1 referral assigned to Stacy Staff."
    assert _refresh(referral).assignee == staff_user
    # Handing it out is triaging it: no longer New to the one who did, still New to the one who got it.
    assert _new_badge(page_text(owner_client.get(url("nav_badges", spa)))) == 0
    assert _new_badge(page_text(staff_client.get(url("nav_badges", spa)))) == 1


def test_assigning_to_someone_outside_the_spa_is_refused(owner_client, outsider, spa):
    referral = make_referral(spa)

    response = _bulk(owner_client, spa, "assign", [referral], assignee=outsider.pk)

    assert response.status_code == 400
    assert _triggers(response)["showToast"]["level"] == "warning"
    assert _refresh(referral).assignee is None


def test_assign_without_a_person_says_so(owner_client, spa):
    referral = make_referral(spa)

    response = _bulk(owner_client, spa, "assign", [referral])

    assert response.status_code == 400
    assert "Choose who to assign them to." in _triggers(response)["showToast"]["message"]
    assert "referralsChanged" not in _triggers(response)


def test_nothing_ticked_says_so_and_changes_nothing(owner_client, spa):
    response = owner_client.post(url("bulk", spa), {"action": "assign_me"}, **HTMX)

    assert response.status_code == 400
    assert _triggers(response)["showToast"]["message"] == "Tick the referrals first."


def test_a_garbled_id_is_a_clear_refusal_not_a_500(owner_client, spa):
    response = owner_client.post(url("bulk", spa), {"action": "assign_me", "referral": "not-a-uuid"}, **HTMX)

    assert response.status_code == 400


def test_mark_read_clears_new_and_undo_brings_it_back(owner_client, owner, spa):
    first = make_referral(spa)
    second = make_referral(spa)
    owner_client.get(url("detail", spa, first.public_id))

    response = _bulk(owner_client, spa, "mark_read", [first, second])

    assert _triggers(response)["showToast"]["message"] == "1 referral marked read."
    assert _new_badge(_nav(owner_client.get(f"/s/{spa.slug}/"))) == 0

    owner_client.post(_triggers(response)["showToast"]["undoUrl"], **HTMX)

    # Only the one this action marked is New again; the one opened before stays read.
    with scope(spa=spa):
        assert list(ReferralView.objects.filter(user=owner).values_list("referral_id", flat=True)) == [first.pk]
    assert _new_badge(_nav(owner_client.get(f"/s/{spa.slug}/"))) == 1


def test_archive_takes_spam_out_of_the_counts_keeps_everything_and_is_findable(
    owner_client, owner, spa, django_capture_on_commit_callbacks
):
    spam = make_referral(spa, patient_last_name="Spammy", **_due_in(-3))
    make_referral(spa, patient_last_name="Real")
    before = tab_counts(owner_client.get(url("inbox", spa)))

    with django_capture_on_commit_callbacks(execute=True):
        response = _bulk(owner_client, spa, "archive_spam", [spam])

    assert response.status_code == 204
    assert "referralsChanged" in _triggers(response)
    archived = _refresh(spam)
    assert archived.archived_at is not None
    assert archived.archived_reason == "spam"
    assert archived.status == Status.RECEIVED  # nothing else about it changes
    after_response = owner_client.get(url("inbox", spa))
    after = tab_counts(after_response)
    assert (before["open"], before["overdue"], before["all"]) == (2, 1, 2)
    assert (after["open"], after["overdue"], after["all"]) == (1, 0, 1)
    assert _names(after_response) == ["Real"]
    assert _new_badge(_nav(after_response)) == 1
    assert 'text-bg-danger">' not in _nav(after_response)  # no longer overdue in the badge
    assert _names(owner_client.get(url("inbox", spa, query="archived=true&status="))) == ["Spammy"]
    with scope(spa=spa):
        assert AuditEvent.objects.filter(action="referral.archived", object_id=str(spam.public_id)).count() == 1
        assert ReferralEvent.objects.filter(referral=spam, kind=ReferralEvent.Kind.ARCHIVED).count() == 1
        assert not referral_inbox(spa=spa).filter(pk=spam.pk).exists()  # My day's queue leaves it out too
    # The referral's own page (and its consent record) still opens.
    assert owner_client.get(url("detail", spa, spam.public_id)).status_code == 200

    with django_capture_on_commit_callbacks(execute=True):
        owner_client.post(_triggers(response)["showToast"]["undoUrl"], **HTMX)

    assert _refresh(spam).archived_at is None
    assert tab_counts(owner_client.get(url("inbox", spa)))["open"] == 2
    with scope(spa=spa):
        assert AuditEvent.objects.filter(action="referral.restored").count() == 1


def test_restore_from_the_archived_view(owner_client, owner, spa):
    referral = make_referral(spa)
    with scope(spa=spa):
        inbox_services.referrals_archive(spa=spa, referrals=[referral], reason="test", actor=owner)

    page = page_text(owner_client.get(url("inbox", spa, query="archived=true&status=")))
    assert 'value="restore"' in page
    assert "Archived: Test referral" in page

    response = _bulk(owner_client, spa, "restore", [referral])

    assert response.status_code == 204
    assert _refresh(referral).archived_at is None


def test_an_archived_referral_sends_no_overdue_reminder(owner, spa):
    from referrals.tasks import overdue_referrals_notify

    referral = make_referral(spa, **_due_in(-3))
    with scope(spa=spa):
        inbox_services.referrals_archive(spa=spa, referrals=[referral], reason="test", actor=owner)
        assert overdue_referrals_notify(spa=spa) == 0


def test_a_plain_form_post_goes_back_to_the_inbox_it_came_from(owner_client, owner, spa):
    referral = make_referral(spa)

    response = _bulk(owner_client, spa, "assign_me", [referral], htmx=False, query="status=received")

    assert response.status_code == 302
    assert response["Location"] == url("inbox", spa, query="status=received")
    assert _refresh(referral).assignee == owner


# --- outsiders ---------------------------------------------------------------------------------------


def test_another_spas_referral_in_a_bulk_post_is_not_found_and_nothing_changes(owner_client, spa, other_spa):
    ours = make_referral(spa)
    theirs = make_referral(other_spa)

    for action in ("assign_me", "mark_read", "archive_spam"):
        response = _bulk(owner_client, spa, action, [ours, theirs])
        assert response.status_code == 404

    assert _refresh(ours).assignee is None
    assert _refresh(ours).archived_at is None
    assert _refresh(theirs).assignee is None
    assert _refresh(theirs).archived_at is None
    with scope(spa=spa):
        assert not ReferralView.objects.exists()


def test_an_outsider_cannot_act_on_this_spas_referrals(outsider_client, spa):
    referral = make_referral(spa)

    response = _bulk(outsider_client, spa, "archive_spam", [referral])

    assert response.status_code == 404
    assert _refresh(referral).archived_at is None


def test_an_undo_link_naming_another_spas_referral_is_not_found(owner_client, spa, other_spa, owner):
    theirs = make_referral(other_spa)

    response = owner_client.post(f"{url('bulk_undo', spa)}?action=archive&referral={theirs.public_id}", **HTMX)

    assert response.status_code == 404


def test_anonymous_visitors_cannot_act_or_read_the_badge(client, spa):
    referral = make_referral(spa)

    for response in (
        _bulk(client, spa, "archive_spam", [referral], htmx=False),
        client.get(url("nav_badges", spa)),
        client.post(f"{url('bulk_undo', spa)}?action=archive&referral={referral.public_id}"),
    ):
        assert response.status_code == 302
        assert urlsplit(response["Location"]).path == "/accounts/login/"
    assert _refresh(referral).archived_at is None


# --- the referral page's htmx actions tell the page too ------------------------------------------------


def test_a_status_or_assignee_change_on_the_referral_page_fires_referrals_changed(owner_client, owner, spa):
    referral = make_referral(spa)

    accepted = owner_client.post(action_url("accept", referral), {"version": referral.version}, **HTMX)
    assigned = owner_client.post(
        action_url("assign", referral), {"version": referral.version + 1, "assignee": owner.pk}, **HTMX
    )
    noted = owner_client.post(action_url("note", referral), {"note": "Called the clinic."}, **HTMX)

    assert accepted.status_code == 200
    assert "referralsChanged" in _triggers(accepted)
    assert "referralsChanged" in _triggers(assigned)
    assert "referralsChanged" not in (noted.get("HX-Trigger") or "")


def test_the_inbox_reloads_itself_on_referrals_changed(owner_client, spa):
    make_referral(spa)

    page = page_text(owner_client.get(url("inbox", spa, query="channel=fax")))

    assert re.search(
        r'id="inbox-reload"[^>]*hx-get="[^"]*\?channel=fax"[^>]*hx-trigger="referralsChanged from:body"', page
    )


# --- query budgets -----------------------------------------------------------------------------------


@pytest.mark.parametrize("query", ["", "status=", "archived=true&status=", "overdue=true"])
def test_the_inbox_and_its_new_marks_cost_the_same_queries_for_3_or_30_referrals(
    owner_client, owner, spa, query, django_assert_max_num_queries, django_assert_num_queries
):
    def fill(count):
        for index in range(count):
            referral = make_referral(spa, **_due_in(index - 5))
            if index % 3 == 0:
                with scope(spa=spa):
                    ReferralView.objects.create(spa=spa, referral=referral, user=owner)
                    inbox_services.referrals_archive(spa=spa, referrals=[referral], reason="test", actor=owner)

    def cold(path):
        from django.core.cache import cache

        cache.clear()
        return owner_client.get(path)

    fill(3)
    cold(url("inbox", spa, query=query))  # the first request of a session reads a little more
    with django_assert_max_num_queries(20) as few:
        cold(url("inbox", spa, query=query))
    fill(27)
    with django_assert_num_queries(len(few.captured_queries)):
        cold(url("inbox", spa, query=query))


def test_the_nav_badges_cost_two_counts_cold_and_none_warm(
    owner_client, spa, django_assert_max_num_queries, django_assert_num_queries
):
    for _ in range(5):
        make_referral(spa, **_due_in(-1))
    owner_client.get(url("nav_badges", spa))  # warm

    with django_assert_max_num_queries(10) as warm:
        owner_client.get(url("nav_badges", spa))

    assert not [query for query in warm.captured_queries if "COUNT(" in query["sql"].upper()]


def test_an_archived_referrals_page_says_so_and_can_restore_it(owner_client, owner, spa):
    referral = make_referral(spa, **_due_in(-3))
    with scope(spa=spa):
        inbox_services.referrals_archive(spa=spa, referrals=[referral], reason="spam", actor=owner)

    page = page_text(owner_client.get(url("detail", spa, referral.public_id)))

    assert "Archived as “Spam”" in page
    assert "Archived as spam" in page  # the timeline line
    heading = page.split('id="referral-heading"', 1)[1].split("</h1>", 1)[1].split("</div>", 1)[0]
    assert "bi-alarm" not in heading  # an archived referral is not overdue

    response = owner_client.post(
        url("bulk", spa), {"action": "restore", "referral": str(referral.public_id), "query": "archived=true&status="}
    )

    assert response.status_code == 302
    assert _refresh(referral).archived_at is None
