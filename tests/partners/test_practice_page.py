"""A practice's page: its referrals (latest ten, counts by status, "See all", "Enter a referral from this
practice" pre-filling manual entry), its primary actions at the top, the timeline's filters (All /
Conversations / Gifts) and a removed touchpoint's Undo."""

import datetime
import html
import json
import re

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone
from django_scopes import scope, scopes_disabled
from freezegun import freeze_time

from outreach.activity import selectors as activity_selectors
from outreach.activity import services as activity_services
from outreach.models import Task, Touchpoint
from referrals.models import Status
from spas.models import Role
from tests.factories import ClinicianFactory, MembershipFactory, PracticeFactory, ReferralFactory, UserFactory

from .helpers import HTMX, make_clinician, make_practice, page_text, url
from .test_query_budgets import _queries


@pytest.fixture
def practice(spa, owner):
    return make_practice(spa, actor=owner, name="Brookline Dermatology")


def _referral(practice, *, days_ago, status=Status.RECEIVED, first="Pat", last="Lee", clinician=None):
    received = timezone.now() - datetime.timedelta(days=days_ago)
    with scope(spa=practice.spa):
        return ReferralFactory(
            spa=practice.spa,
            practice=practice,
            clinician=clinician,
            status=status,
            patient_first_name=first,
            patient_last_name=last,
            received_at=received,
            first_contact_due_at=received + datetime.timedelta(days=2),
        )


def _card(response):
    body = page_text(response)
    return body.split('id="practice-referrals"', 1)[1].split("</section>", 1)[0]


def _listed_patients(card):
    listed = card.split('id="practice-referral-list"', 1)[1].split("</ul>", 1)[0]
    return re.findall(r'<a class="fw-semibold" href="[^"]+">([^<]+)</a>', listed)


# --- the referrals card ---------------------------------------------------------------------------


def test_the_page_lists_the_latest_ten_referrals_with_their_status(owner_client, spa, practice):
    for day in range(12):
        status = Status.COMPLETED if day % 3 == 0 else Status.RECEIVED
        _referral(practice, days_ago=day, first=f"Patient{day:02d}", status=status)
    _referral(make_practice(spa, name="Other Practice"), days_ago=0, first="Elsewhere")

    card = _card(owner_client.get(url("detail", spa, practice.public_id)))

    assert _listed_patients(card) == [f"Patient{day:02d} Lee" for day in range(10)]
    assert "Elsewhere" not in card
    assert 'referral-status-completed">Completed</span>' in card
    # Counts by status, each linking to the inbox filtered by the practice and that status.
    inbox = reverse("referrals:inbox", args=[spa.slug])
    counts = dict(re.findall(r'data-status="([a-z_]+)"><span[^>]*>[^<]+</span> (\d+)</a>', card.replace("&amp;", "&")))
    assert counts == {"received": "8", "completed": "4"}
    assert f'href="{inbox}?practice={practice.public_id}&amp;status=completed"' in card
    # "See all" goes to the inbox filtered by the practice, on the All tab (the inbox opens on Open otherwise).
    see_all = re.search(r'<a[^>]*href="([^"]+)"[^>]*id="practice-referrals-all">([^<]+)</a>', card)
    assert see_all.group(1) == f"{inbox}?practice={practice.public_id}&amp;status="
    assert see_all.group(2) == "See all 12 referrals in the inbox"


def test_enter_a_referral_from_this_practice_links_to_manual_entry_with_the_practice(owner_client, spa, practice):
    body = page_text(owner_client.get(url("detail", spa, practice.public_id)))
    create = reverse("referrals:create", args=[spa.slug])
    link = re.search(r'<a [^>]*href="([^"]+)"><i [^>]*></i> Enter a referral from this practice</a>', body)
    assert link.group(1) == f"{create}?practice={practice.public_id}"
    assert "No referrals from this practice yet." in body


def test_the_referrals_card_costs_two_queries_however_many_referrals(
    owner_client,
    spa,
    practice,
):
    _referral(practice, days_ago=1)
    _page, few = _queries(owner_client, url("detail", spa, practice.public_id))
    for day in range(30):
        _referral(practice, days_ago=day, status=Status.values[day % len(Status.values)])
    _page, many = _queries(owner_client, url("detail", spa, practice.public_id))
    assert len(many) == len(few)


def test_each_clinician_links_to_manual_entry_with_practice_and_clinician(owner_client, spa, practice):
    clinician = make_clinician(practice, first_name="Dana", last_name="Derm", credentials="MD")
    body = page_text(owner_client.get(url("detail", spa, practice.public_id)))
    create = reverse("referrals:create", args=[spa.slug])
    link = f'href="{create}?practice={practice.public_id}&amp;clinician={clinician.public_id}"'
    # Named by the clinician it is for (aria-describedby), beside the clinician's name.
    assert f'{link} aria-describedby="clinician-{clinician.public_id}">Enter a referral</a>' in body
    assert f'id="clinician-{clinician.public_id}"' in body and "Dana Derm, MD</a>" in body


def test_the_primary_actions_come_first(owner_client, spa, practice):
    body = page_text(owner_client.get(url("detail", spa, practice.public_id)))
    actions = body.split('id="practice-actions"', 1)[1].split("</div>", 1)[0]
    assert 'href="#quick-log" data-open-details' in actions and "Log a touchpoint" in actions
    assert "Enter a referral" in actions
    # The referrals and the touchpoints open the main column, before the clinicians and contacts.
    assert body.index('id="practice-referrals"') < body.index('id="practice-activity"') < body.index("clinicians-title")


def test_outsiders_do_not_see_a_practices_page(outsider_client, client, spa, practice):
    _referral(practice, days_ago=1, first="Hidden")
    assert outsider_client.get(url("detail", spa, practice.public_id)).status_code == 404
    anonymous = client.get(url("detail", spa, practice.public_id))
    assert anonymous.status_code == 302 and "/accounts/login/" in anonymous["Location"]


# --- manual entry pre-filled from the practice's page ----------------------------------------------


def _selected(response, field):
    body = page_text(response)
    select = re.search(rf'<select name="{field}"[^>]*>(.*?)</select>', body, re.S).group(1)
    return [value for value in re.findall(r'<option value="([^"]*)"[^>]*selected>', select) if value]


def test_manual_entry_starts_with_the_practice_and_clinician_of_the_link(owner_client, spa, practice):
    clinician = make_clinician(practice, first_name="Dana", last_name="Derm")
    create = reverse("referrals:create", args=[spa.slug])

    response = owner_client.get(f"{create}?practice={practice.public_id}&clinician={clinician.public_id}")
    assert response.status_code == 200
    assert _selected(response, "practice") == [str(practice.public_id)]
    assert _selected(response, "clinician") == [str(clinician.public_id)]

    # A clinician alone brings its practice.
    response = owner_client.get(f"{create}?clinician={clinician.public_id}")
    assert _selected(response, "practice") == [str(practice.public_id)]


def test_manual_entry_ignores_ids_that_are_not_the_spas_own(owner_client, spa, other_spa, practice):
    with scopes_disabled():
        foreign = PracticeFactory(spa=other_spa, name="Foreign Practice")
        foreign_clinician = ClinicianFactory(spa=other_spa, practice=foreign)
    elsewhere = make_clinician(make_practice(spa, name="Other Practice"))
    create = reverse("referrals:create", args=[spa.slug])

    for query in [
        f"practice={foreign.public_id}",
        f"clinician={foreign_clinician.public_id}",
        "practice=not-a-uuid&clinician=12",
    ]:
        response = owner_client.get(f"{create}?{query}")
        assert response.status_code == 200, query
        assert _selected(response, "practice") == [], query
        assert "Foreign Practice" not in page_text(response)
    # A clinician of another practice than the one named is left out; the practice stays.
    response = owner_client.get(f"{create}?practice={practice.public_id}&clinician={elsewhere.public_id}")
    assert _selected(response, "practice") == [str(practice.public_id)]
    assert _selected(response, "clinician") == []


# --- the timeline's filters ------------------------------------------------------------------------


def _log(spa, practice, actor, kind, days_ago=0, **fields):
    with scope(spa=spa):
        return activity_services.touchpoint_log(
            spa=spa,
            practice=practice,
            kind=kind,
            occurred_on=activity_selectors.spa_today(spa) - datetime.timedelta(days=days_ago),
            actor=actor,
            **fields,
        )


def _timeline_kinds(body):
    if 'id="touchpoint-timeline"' not in body:
        return []
    timeline = body.split('id="touchpoint-timeline"', 1)[1].split("</ol>", 1)[0]
    return [html.unescape(kind) for kind in re.findall(r"</i>\s*<strong>([^<]+)</strong>", timeline)]


def test_the_timeline_filters_conversations_and_gifts(owner_client, spa, practice, owner):
    _log(spa, practice, owner, "phone_call", 3)
    _log(spa, practice, owner, "gift", 2)
    _log(spa, practice, owner, "networking_event", 1)
    _log(spa, practice, owner, "email", 0)
    detail = url("detail", spa, practice.public_id)

    assert _timeline_kinds(page_text(owner_client.get(detail))) == ["Email", "Networking event", "Gift", "Phone call"]
    assert _timeline_kinds(page_text(owner_client.get(f"{detail}?timeline=conversations"))) == ["Email", "Phone call"]
    assert _timeline_kinds(page_text(owner_client.get(f"{detail}?timeline=gifts"))) == ["Gift"]
    # An unknown filter shows everything.
    assert len(_timeline_kinds(page_text(owner_client.get(f"{detail}?timeline=nonsense")))) == 4

    # htmx redraws the card with the filter, marking the chosen one.
    timeline_url = reverse("outreach:practice_timeline", args=[spa.slug, practice.public_id])
    response = owner_client.get(f"{timeline_url}?timeline=gifts", **HTMX)
    assert response.status_code == 200
    assert _timeline_kinds(page_text(response)) == ["Gift"]
    assert re.search(
        r'class="btn btn-outline-secondary active" aria-current="true" data-timeline="gifts"', page_text(response)
    )
    # Without htmx, the practice's page with the filter.
    plain = owner_client.get(f"{timeline_url}?timeline=gifts")
    assert plain.status_code == 302 and plain["Location"].endswith("?timeline=gifts#practice-activity")


def test_an_empty_filter_says_so(owner_client, spa, practice, owner):
    _log(spa, practice, owner, "phone_call")
    body = page_text(owner_client.get(url("detail", spa, practice.public_id, query="timeline=gifts")))
    assert "No gifts logged for this practice." in body


def test_outsiders_cannot_read_the_timeline(outsider_client, client, spa, practice, owner):
    _log(spa, practice, owner, "gift")
    timeline_url = reverse("outreach:practice_timeline", args=[spa.slug, practice.public_id])
    assert outsider_client.get(timeline_url, **HTMX).status_code == 404
    anonymous = client.get(timeline_url, **HTMX)
    assert "/accounts/login/" in anonymous["HX-Redirect"]
    assert "Gift" not in page_text(anonymous)


# --- removing a timeline entry: confirm, then Undo --------------------------------------------------


def _toast(response):
    return json.loads(response["HX-Trigger"])["showToast"]


def test_removing_a_touchpoint_asks_first(owner_client, spa, practice, owner):
    _log(spa, practice, owner, "phone_call")
    body = page_text(owner_client.get(url("detail", spa, practice.public_id)))
    assert 'data-confirm="Remove this touchpoint?" data-confirm-button="Remove"' in body


def test_a_removed_touchpoint_comes_back_with_undo(owner_client, spa, practice, owner):
    clinician = make_clinician(practice, first_name="Dana", last_name="Derm")
    with scope(spa=spa):
        task, _created = activity_services.task_create(
            spa=spa, title="Call Dana", kind="phone_call", due_on=activity_selectors.spa_today(spa), practice=practice
        )
    touchpoint = _log(
        spa, practice, owner, "phone_call", 2, notes="Spoke to Dana.", next_step="Send pads", clinicians=[clinician]
    )
    with scope(spa=spa):
        assert Task.objects.get(pk=task.pk).done_at is not None

    response = owner_client.post(
        reverse("outreach:touchpoint_delete", args=[spa.slug, touchpoint.public_id]), {"timeline": "all"}, **HTMX
    )
    assert response.status_code == 200
    toast = _toast(response)
    assert toast["message"] == "Touchpoint removed."
    undo_url = reverse("outreach:touchpoint_restore", args=[spa.slug, touchpoint.public_id])
    assert toast["undoUrl"] == undo_url
    with scope(spa=spa):
        assert not Touchpoint.objects.filter(pk=touchpoint.pk).exists()
        assert Task.objects.get(pk=task.pk).done_at is None

    undo = owner_client.post(undo_url, **HTMX)
    assert undo.status_code == 204 and undo["HX-Refresh"] == "true"
    with scope(spa=spa):
        back = Touchpoint.objects.get(public_id=touchpoint.public_id)
        assert (back.kind, back.occurred_on, back.notes, back.next_step) == (
            "phone_call",
            touchpoint.occurred_on,
            "Spoke to Dana.",
            "Send pads",
        )
        assert [participant.clinician for participant in back.participants.all()] == [clinician]
        # The task its removal reopened is closed by it again.
        assert Task.objects.get(pk=task.pk).done_at is not None
        assert Task.objects.get(pk=task.pk).touchpoint == back

    # Twice is refused, with a toast; nothing is duplicated.
    again = owner_client.post(undo_url, **HTMX)
    assert again.status_code == 409
    assert _toast(again)["message"] == "This touchpoint is already back."
    with scope(spa=spa):
        assert Touchpoint.objects.filter(practice=practice).count() == 1


def test_undo_is_refused_after_an_hour(spa, practice, owner):
    touchpoint = _log(spa, practice, owner, "email")
    with scope(spa=spa):
        activity_services.touchpoint_delete(touchpoint=touchpoint, actor=owner)
        removal = activity_selectors.touchpoint_removal(spa=spa, touchpoint_id=touchpoint.public_id)
        later = timezone.now() + activity_services.RESTORE_WINDOW + datetime.timedelta(minutes=1)
        with freeze_time(later), pytest.raises(ValidationError, match="removed too long ago to undo"):
            activity_services.touchpoint_restore(spa=spa, removal=removal, actor=owner)
        assert not Touchpoint.objects.filter(practice=practice).exists()


def test_only_the_remover_or_a_manager_can_undo(
    client_for, staff_user, manager_user, outsider_client, client, spa, practice
):
    touchpoint = _log(spa, practice, staff_user, "email")
    client_for(staff_user).post(reverse("outreach:touchpoint_delete", args=[spa.slug, touchpoint.public_id]), **HTMX)
    undo_url = reverse("outreach:touchpoint_restore", args=[spa.slug, touchpoint.public_id])

    other_staff = client_for(MembershipFactory(spa=spa, role=Role.STAFF, user=UserFactory()).user)
    assert other_staff.post(undo_url, **HTMX).status_code == 404
    assert outsider_client.post(undo_url, **HTMX).status_code == 404
    anonymous = client.post(undo_url)
    assert anonymous.status_code == 302 and "/accounts/login/" in anonymous["Location"]
    # Never removed: nothing to bring back.
    unknown = reverse("outreach:touchpoint_restore", args=[spa.slug, practice.public_id])
    assert client_for(manager_user).post(unknown, **HTMX).status_code == 404
    with scope(spa=spa):
        assert not Touchpoint.objects.filter(practice=practice).exists()

    assert client_for(manager_user).post(undo_url, **HTMX).status_code == 204
    with scope(spa=spa):
        assert Touchpoint.objects.filter(public_id=touchpoint.public_id).exists()
