"""Campaign pages: list, new campaign (preview, steps, validation), a campaign's page, launch, stop, remove,
edit, delete, letters, the practice page's card, roles, outsiders and query budgets."""

import datetime
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django_scopes import scope, scopes_disabled
from freezegun import freeze_time

import outreach.campaigns.services  # noqa: F401 - registers the task hooks (apps.ready imports it too)
from infra.models import GeneratedDocument
from outreach.activity import services as activity
from outreach.campaigns import services as campaigns
from outreach.models import Campaign, CampaignEnrollment, CampaignStep, LetterBatch, Task, Touchpoint
from partners.models import Practice
from partners.services import practice_set_tags

from ..factories import LetterTemplateFactory, ReferralFactory
from .helpers import HTMX, field_error, make_practice, page_text, rows, url

NOW = "2026-03-02 15:00:00"
TODAY = datetime.date(2026, 3, 2)
SEGMENT = {"specialty": "dermatology", "stage": "researched", "city": "Boston"}


@pytest.fixture
def manager_client(client_for, manager_user):
    return client_for(manager_user)


@pytest.fixture
def letter(spa):
    with scope(spa=spa):
        return LetterTemplateFactory(spa=spa, name="Introduction")


@pytest.fixture
def derm(spa, owner):
    with scope(spa=spa):
        practices = [
            make_practice(spa, name="Alpha Dermatology", city="Boston", stage="researched", owner=owner),
            make_practice(spa, name="Beta Skin", city="Boston", stage="researched"),
            make_practice(spa, name="Gamma Derm", city="Boston", stage="researched"),
        ]
        make_practice(spa, name="Delta Derm Newton", city="Newton", stage="researched")
    return practices


def form_data(letter, **overrides):
    data = {
        "name": "Spring introductions",
        "description": "Introduce the spa to Boston dermatologists",
        "owner": "",
        "specialty": "dermatology",
        "stage": "researched",
        "city": "Boston",
        "tag": "",
        "steps-TOTAL_FORMS": "3",
        "steps-INITIAL_FORMS": "3",
        "steps-MIN_NUM_FORMS": "0",
        "steps-MAX_NUM_FORMS": "10",
        "steps-0-kind": "letter",
        "steps-0-title": "",
        "steps-0-days_after_previous": "0",
        "steps-0-letter_template": str(letter.public_id),
        "steps-1-kind": "phone_call",
        "steps-1-title": "Follow-up call",
        "steps-1-days_after_previous": "5",
        "steps-1-letter_template": "",
        "steps-2-kind": "lunch_presentation",
        "steps-2-title": "Invite to lunch",
        "steps-2-days_after_previous": "14",
        "steps-2-letter_template": "",
        "action": "launch",
    }
    data.update(overrides)
    return data


def launched(spa, actor, letter, segment=SEGMENT, name="Spring introductions"):
    with scope(spa=spa):
        return campaigns.campaign_save(
            spa=spa,
            actor=actor,
            fields={"name": name, "description": "", "owner": None},
            segment=segment,
            steps=[
                {"kind": "letter", "days_after_previous": 0, "letter_template": letter},
                {"kind": "phone_call", "title": "Follow-up call", "days_after_previous": 5},
                {"kind": "lunch_presentation", "title": "Invite to lunch", "days_after_previous": 14},
            ],
            launch=True,
        )


def listed_practices(response):
    return re.findall(r'<tr data-practice="[^"]+">\s*<td><a href="[^"]+">([^<]+)</a>', page_text(response))


# --- the list ------------------------------------------------------------------------------------------


def test_an_empty_list_invites_a_manager_to_start_one(manager_client, spa):
    response = manager_client.get(url("campaign_list", spa))

    assert response.status_code == 200
    text = page_text(response)
    assert "No campaigns yet." in text
    assert f'href="{url("campaign_create", spa)}"' in text


def test_staff_see_the_list_without_the_new_button(staff_client, spa):
    response = staff_client.get(url("campaign_list", spa))

    assert response.status_code == 200
    assert url("campaign_create", spa) not in page_text(response)
    assert "A manager or owner can start one." in page_text(response)


@freeze_time(NOW)
def test_the_list_shows_status_practices_progress_and_launch_date(
    manager_client, spa, manager_user, owner, derm, letter
):
    campaign = launched(spa, manager_user, letter)
    with scope(spa=spa):
        activity.task_complete(task=Task.objects.filter(practice=derm[0]).get(), actor=owner)
        campaigns.campaign_save(
            spa=spa,
            actor=manager_user,
            fields={"name": "Autumn draft"},
            segment={},
            steps=[{"kind": "email", "days_after_previous": 0}],
        )

    response = manager_client.get(url("campaign_list", spa))

    text = page_text(response)
    row = re.search(rf'<tr data-campaign="{campaign.public_id}">(.*?)</tr>', text, re.S).group(1)
    assert "Spring introductions" in row
    assert "Running" in row
    assert ">3</td>" in row
    assert 'value="11"' in row  # 1 of 9 steps
    assert "Mar 2, 2026" in row
    assert "Autumn draft" in text
    drafts = page_text(manager_client.get(url("campaign_list", spa, query="status=draft")))
    assert "Autumn draft" in drafts
    assert "Spring introductions" not in drafts


def _list_queries(client, spa):
    client.get(url("campaign_list", spa))  # the first visit also stores the session's last spa
    with CaptureQueriesContext(connection) as context:
        response = client.get(url("campaign_list", spa))
    assert response.status_code == 200
    return len(context.captured_queries)


@freeze_time(NOW)
def test_the_list_takes_the_same_number_of_queries_for_few_and_many_campaigns(
    manager_client, spa, manager_user, derm, letter
):
    launched(spa, manager_user, letter, name="One")
    few = _list_queries(manager_client, spa)
    for number in range(8):
        launched(spa, manager_user, letter, name=f"More {number}")

    assert _list_queries(manager_client, spa) == few


# --- new campaign ----------------------------------------------------------------------------------------


def test_the_new_form_starts_with_letter_call_and_lunch_invitation(manager_client, spa, derm, letter):
    response = manager_client.get(url("campaign_create", spa))

    assert response.status_code == 200
    text = page_text(response)
    kinds = re.findall(r'<select name="steps-(\d)-kind"[^>]*>.*?<option value="([a-z_]+)" selected>', text, re.S)
    assert kinds == [("0", "letter"), ("1", "phone_call"), ("2", "lunch_presentation")]
    days = re.findall(r'name="steps-\d-days_after_previous" value="(\d+)"', text)
    assert days == ["0", "5", "14"]
    # The letter step starts on the spa's letter.
    assert re.search(rf'name="steps-0-letter_template".*?<option value="{letter.public_id}" selected>', text, re.S)
    assert "4 practices match" in text  # the preview, before any choice


def test_the_preview_counts_and_names_the_matching_practices(manager_client, spa, derm):
    response = manager_client.get(
        url("campaign_preview", spa, query="specialty=dermatology&stage=researched&city=Boston&tag="), **HTMX
    )

    assert response.status_code == 200
    text = page_text(response)
    assert "3 practices match" in text
    assert "Alpha Dermatology" in text
    assert "Delta Derm Newton" not in text


def test_the_preview_lists_twenty_names_and_says_how_many_more(manager_client, spa):
    with scope(spa=spa):
        for number in range(23):
            make_practice(spa, name=f"Practice {number:02d}", specialty="oncology")

    text = page_text(manager_client.get(url("campaign_preview", spa, query="specialty=oncology"), **HTMX))

    assert "23 practices match" in text
    assert text.count("list-inline-item border") == 20
    assert "and 3 more" in text


def test_the_preview_refuses_another_spas_tag(manager_client, spa, other_spa):
    with scope(spa=other_spa):
        practice_set_tags(practice=make_practice(other_spa, name="Theirs"), tag_names=["secret-tag"])

    response = manager_client.get(url("campaign_preview", spa, query="tag=secret-tag"), **HTMX)

    assert response.status_code == 400
    assert "Choose the segment from the lists." in page_text(response)


@freeze_time(NOW)
def test_save_and_launch_enrolls_the_segment_and_opens_the_campaign_page(
    manager_client, spa, manager_user, derm, letter
):
    response = manager_client.post(url("campaign_create", spa), form_data(letter), follow=True)

    campaign = rows(Campaign)[0]
    assert response.redirect_chain[-1][0] == url("campaign_detail", spa, campaign.public_id)
    assert campaign.status == Campaign.Status.RUNNING
    assert campaign.created_by == manager_user
    assert campaign.segment == SEGMENT
    assert [(s.position, s.kind, s.days_after_previous) for s in rows(CampaignStep, campaign=campaign)] == [
        (1, "letter", 0),
        (2, "phone_call", 5),
        (3, "lunch_presentation", 14),
    ]
    assert "3 practices enrolled" in page_text(response)
    assert listed_practices(response) == ["Alpha Dermatology", "Beta Skin", "Gamma Derm"]
    assert len(rows(Task, campaign_enrollment__campaign=campaign)) == 3


def test_save_as_draft_creates_no_task(manager_client, spa, derm, letter):
    response = manager_client.post(url("campaign_create", spa), form_data(letter, action="draft"))

    campaign = rows(Campaign)[0]
    assert response.status_code == 302
    assert campaign.status == Campaign.Status.DRAFT
    assert rows(CampaignEnrollment) == []
    assert rows(Task) == []


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"name": ""}, "name", "This field is required."),
        ({"steps-0-letter_template": ""}, "steps-0-letter_template", "Choose the letter to send."),
        ({"steps-0-days_after_previous": "3"}, "steps-0-days_after_previous", "The first step happens at launch"),
        ({"steps-1-days_after_previous": "-2"}, "steps-1-days_after_previous", "greater than or equal to 0"),
        ({"steps-1-kind": "", "steps-1-title": "Call them"}, "steps-1-kind", "Choose what to do in this step"),
    ],
)
def test_a_refused_form_shows_the_error_beside_the_field_and_creates_nothing(
    manager_client, spa, derm, letter, overrides, field, message
):
    response = manager_client.post(url("campaign_create", spa), form_data(letter, **overrides))

    assert response.status_code == 400
    assert message in field_error(response, field)
    assert "Nothing was saved: please correct what is marked below." in page_text(response)
    assert rows(Campaign) == []
    assert rows(Task) == []


def test_a_campaign_without_steps_is_refused(manager_client, spa, derm, letter):
    data = form_data(letter, **{f"steps-{index}-DELETE": "on" for index in range(3)})

    response = manager_client.post(url("campaign_create", spa), data)

    assert response.status_code == 400
    assert "Add at least one step." in page_text(response)
    assert rows(Campaign) == []


def test_launching_a_segment_that_matches_nothing_is_refused_beside_the_segment(manager_client, spa, derm, letter):
    response = manager_client.post(url("campaign_create", spa), form_data(letter, specialty="ob_gyn"))

    assert response.status_code == 400
    segment_box = re.search(r'id="segment_error">(.*?)</div></div>', page_text(response), re.S).group(1)
    assert "No practice matches this segment yet" in segment_box
    assert rows(Campaign) == []


@pytest.mark.parametrize("field", ["letter_template", "tag", "owner"])
def test_another_spas_rows_in_the_post_are_refused(manager_client, spa, other_spa, outsider, derm, letter, field):
    with scope(spa=other_spa):
        foreign_letter = LetterTemplateFactory(spa=other_spa, name="Theirs")
        practice_set_tags(practice=make_practice(other_spa, name="Their practice"), tag_names=["foreign-tag"])
    overrides = {
        "letter_template": {"steps-0-letter_template": str(foreign_letter.public_id)},
        "tag": {"tag": "foreign-tag"},
        "owner": {"owner": str(outsider.pk)},
    }[field]

    response = manager_client.post(url("campaign_create", spa), form_data(letter, **overrides))

    assert response.status_code == 400
    error_field = "steps-0-letter_template" if field == "letter_template" else field
    assert "Select a valid choice" in field_error(response, error_field)
    assert rows(Campaign) == []


def test_add_a_step_shows_one_more_row_and_keeps_what_was_typed(manager_client, spa, derm, letter):
    data = form_data(letter, add_step="1", name="Still typing")
    del data["action"]

    response = manager_client.post(url("campaign_create", spa), data, **HTMX)

    assert response.status_code == 200
    text = page_text(response)
    assert text.startswith('<div id="campaign-steps">')
    assert text.count('class="border rounded p-3 mb-2 campaign-step"') == 4
    assert 'name="steps-TOTAL_FORMS" value="4"' in text
    assert 'name="steps-1-title" value="Follow-up call"' in text
    assert rows(Campaign) == []

    # Without htmx the whole form comes back, the typed name kept.
    full = manager_client.post(url("campaign_create", spa), data)
    assert 'value="Still typing"' in page_text(full)
    assert page_text(full).count('campaign-step"') == 4


def test_a_new_blank_step_left_empty_is_ignored(manager_client, spa, derm, letter):
    data = form_data(
        letter,
        **{
            "steps-TOTAL_FORMS": "4",
            "steps-3-kind": "",
            "steps-3-title": "",
            "steps-3-days_after_previous": "7",
            "steps-3-letter_template": "",
        },
        action="draft",
    )

    response = manager_client.post(url("campaign_create", spa), data)

    assert response.status_code == 302
    assert len(rows(CampaignStep)) == 3


# --- a campaign's page ----------------------------------------------------------------------------------


@freeze_time(NOW)
def test_the_campaign_page_shows_each_practices_progress_results_and_letter(
    manager_client, spa, owner, manager_user, derm, letter
):
    campaign = launched(spa, manager_user, letter)
    with scope(spa=spa):
        activity.task_complete(task=Task.objects.get(practice=derm[0]), actor=owner)
        activity.touchpoint_log(spa=spa, practice=derm[0], kind="phone_call", occurred_on=TODAY, actor=owner)
        activity.touchpoint_log(spa=spa, practice=derm[1], kind="meeting", occurred_on=TODAY, actor=owner)
        ReferralFactory(spa=spa, practice=derm[1])
        GeneratedDocument.objects.filter(source_id=str(derm[0].public_id)).update(status="ready")

    response = manager_client.get(url("campaign_detail", spa, campaign.public_id))

    assert response.status_code == 200
    text = page_text(response)
    assert listed_practices(response) == ["Alpha Dermatology", "Beta Skin", "Gamma Derm"]
    alpha = re.search(rf'<tr data-practice="{derm[0].public_id}">(.*?)</tr>', text, re.S).group(1)
    assert "2 of 3" in alpha
    assert "Invite to lunch" in alpha
    assert "due Mar 16" in alpha
    assert "Olivia Owner" in alpha
    document = rows(GeneratedDocument, source_id=str(derm[0].public_id))[0]
    assert reverse("documents:download", args=[spa.slug, document.public_id]) in alpha
    beta = re.search(rf'<tr data-practice="{derm[1].public_id}">(.*?)</tr>', text, re.S).group(1)
    assert "0 of 3" in beta
    assert "due today" in beta
    assert "Being made…" in beta
    assert "Manny Manager" in beta  # no practice owner: the campaign's creator
    assert "2 of 9 steps done" in text
    assert 'value="22"' in text  # overall progress
    results = dict(re.findall(r'data-result="(\w+)">.*?campaign-result-value">(\d+)<', text, re.S))
    # Touchpoints: the letter (logged by marking it done), the call, the meeting.
    assert results == {"touchpoints": "3", "meetings": "1", "partners_won": "0", "referrals": "1"}


def _detail_queries(client, spa, campaign):
    client.get(url("campaign_list", spa))  # the first visit also stores the session's last spa
    with CaptureQueriesContext(connection) as context:
        response = client.get(url("campaign_detail", spa, campaign.public_id))
    assert response.status_code == 200
    return len(context.captured_queries)


@freeze_time(NOW)
def test_the_campaign_page_takes_the_same_number_of_queries_for_3_and_30_practices(
    manager_client, spa, owner, manager_user, letter
):
    def campaign_over(count, city):
        with scope(spa=spa):
            practices = [
                make_practice(spa, name=f"{city} {number:02d}", city=city, owner=owner if number % 2 else None)
                for number in range(count)
            ]
        campaign = launched(spa, manager_user, letter, segment={"city": city}, name=city)
        with scope(spa=spa):
            activity.task_complete(task=Task.objects.filter(practice=practices[0]).get(), actor=owner)
            Touchpoint.objects.create(spa=spa, practice=practices[1], kind="meeting", occurred_on=TODAY)
            ReferralFactory(spa=spa, practice=practices[1])
        return campaign

    few = _detail_queries(manager_client, spa, campaign_over(3, "Salem"))
    many = _detail_queries(manager_client, spa, campaign_over(30, "Lowell"))

    assert many == few


def test_a_draft_page_shows_the_steps_and_who_would_be_enrolled(manager_client, spa, manager_user, derm, letter):
    manager_client.post(url("campaign_create", spa), form_data(letter, action="draft"))
    campaign = rows(Campaign)[0]

    text = page_text(manager_client.get(url("campaign_detail", spa, campaign.public_id)))

    assert "This is a draft" in text
    assert "3 practices match" in text
    assert "Gamma Derm" in text
    assert "Follow-up call" in text
    assert url("campaign_launch", spa, campaign.public_id) in text


# --- launch, stop, remove, edit, delete ------------------------------------------------------------------


@freeze_time(NOW)
def test_a_manager_launches_a_draft(manager_client, spa, derm, letter):
    manager_client.post(url("campaign_create", spa), form_data(letter, action="draft"))
    campaign = rows(Campaign)[0]

    response = manager_client.post(url("campaign_launch", spa, campaign.public_id))

    assert response.status_code == 302
    assert rows(Campaign)[0].status == Campaign.Status.RUNNING
    assert len(rows(Task, due_on=TODAY, kind="letter")) == 3


def test_launching_a_draft_that_matches_nothing_says_why(manager_client, spa, derm, letter):
    manager_client.post(url("campaign_create", spa), form_data(letter, action="draft", specialty="oncology"))
    campaign = rows(Campaign)[0]

    response = manager_client.post(url("campaign_launch", spa, campaign.public_id))

    assert response.status_code == 400
    assert "No practice matches this segment yet" in page_text(response)
    assert rows(Campaign)[0].status == Campaign.Status.DRAFT


@freeze_time(NOW)
def test_a_manager_stops_a_campaign(manager_client, spa, manager_user, derm, letter):
    campaign = launched(spa, manager_user, letter)

    response = manager_client.post(url("campaign_stop", spa, campaign.public_id), follow=True)

    assert "Campaign stopped." in page_text(response)
    assert rows(Campaign)[0].status == Campaign.Status.FINISHED
    assert rows(Task) == []
    assert "Stopped" in page_text(manager_client.get(url("campaign_list", spa)))


@freeze_time(NOW)
def test_a_manager_takes_one_practice_out(manager_client, spa, manager_user, derm, letter):
    campaign = launched(spa, manager_user, letter)

    response = manager_client.post(
        url("campaign_practice_remove", spa, campaign.public_id, derm[1].public_id), follow=True
    )

    assert "Beta Skin was taken out of the campaign" in page_text(response)
    with scopes_disabled():
        assert CampaignEnrollment.objects.get(practice=derm[1]).status == CampaignEnrollment.Status.STOPPED
    assert sorted(task.practice.name for task in rows(Task)) == ["Alpha Dermatology", "Gamma Derm"]


@freeze_time(NOW)
def test_another_campaigns_practice_cannot_be_removed_through_this_one(manager_client, spa, manager_user, derm, letter):
    campaign = launched(spa, manager_user, letter)
    with scope(spa=spa):
        stranger = make_practice(spa, name="Not enrolled")

    response = manager_client.post(url("campaign_practice_remove", spa, campaign.public_id, stranger.public_id))

    assert response.status_code == 404


def test_a_draft_is_edited_with_its_steps(manager_client, spa, derm, letter):
    manager_client.post(url("campaign_create", spa), form_data(letter, action="draft"))
    campaign = rows(Campaign)[0]

    page = page_text(manager_client.get(url("campaign_edit", spa, campaign.public_id)))
    assert 'name="steps-1-title" value="Follow-up call"' in page
    response = manager_client.post(
        url("campaign_edit", spa, campaign.public_id),
        form_data(
            letter,
            action="draft",
            name="Renamed",
            city="",
            **{"steps-2-DELETE": "on", "steps-1-days_after_previous": "3"},
        ),
    )

    assert response.status_code == 302
    campaign = rows(Campaign)[0]
    assert campaign.name == "Renamed"
    assert campaign.segment == {"specialty": "dermatology", "stage": "researched"}
    assert [(s.kind, s.days_after_previous) for s in rows(CampaignStep, campaign=campaign)] == [
        ("letter", 0),
        ("phone_call", 3),
    ]


@freeze_time(NOW)
def test_a_launched_campaign_only_changes_its_name_goal_and_assignee(
    manager_client, spa, manager_user, staff_user, derm, letter
):
    campaign = launched(spa, manager_user, letter)

    page = page_text(manager_client.get(url("campaign_edit", spa, campaign.public_id)))
    assert "steps-TOTAL_FORMS" not in page
    response = manager_client.post(
        url("campaign_edit", spa, campaign.public_id),
        {"name": "Renamed", "description": "New goal", "owner": str(staff_user.pk), "steps-TOTAL_FORMS": "0"},
    )

    assert response.status_code == 302
    campaign = rows(Campaign)[0]
    assert (campaign.name, campaign.description, campaign.owner) == ("Renamed", "New goal", staff_user)
    assert len(rows(CampaignStep, campaign=campaign)) == 3
    refused = manager_client.post(url("campaign_edit", spa, campaign.public_id), {"name": ""})
    assert refused.status_code == 400
    assert field_error(refused, "name") == "This field is required."


def test_a_draft_can_be_deleted(manager_client, spa, derm, letter):
    manager_client.post(url("campaign_create", spa), form_data(letter, action="draft"))
    campaign = rows(Campaign)[0]

    response = manager_client.post(url("campaign_delete", spa, campaign.public_id))

    assert response.status_code == 302
    assert rows(Campaign) == []


@freeze_time(NOW)
def test_a_running_campaign_cannot_be_deleted(manager_client, spa, manager_user, derm, letter):
    campaign = launched(spa, manager_user, letter)

    response = manager_client.post(url("campaign_delete", spa, campaign.public_id), follow=True)

    assert "Only a draft can be deleted" in page_text(response)
    assert len(rows(Campaign)) == 1


@freeze_time(NOW)
def test_the_waiting_letters_print_as_one_batch(staff_client, spa, owner, manager_user, derm, letter):
    campaign = launched(spa, manager_user, letter)
    with scope(spa=spa):
        activity.task_complete(task=Task.objects.get(practice=derm[0]), actor=owner)

    response = staff_client.post(url("campaign_letters_print", spa, campaign.public_id))

    assert response.status_code == 302
    assert response["Location"] == reverse("documents:list", args=[spa.slug])
    batch = rows(LetterBatch)[0]
    assert batch.template == letter
    assert batch.practice_ids == [str(derm[1].public_id), str(derm[2].public_id)]


# --- the practice page's card ----------------------------------------------------------------------------


@freeze_time(NOW)
def test_the_practice_page_shows_its_campaigns_and_progress(owner_client, spa, owner, manager_user, derm, letter):
    campaign = launched(spa, manager_user, letter)
    with scope(spa=spa):
        activity.task_complete(task=Task.objects.get(practice=derm[0]), actor=owner)

    text = page_text(owner_client.get(reverse("partners:detail", args=[spa.slug, derm[0].public_id])))

    card = re.search(r'id="practice-campaigns"(.*?)</section>', text, re.S).group(1)
    assert "Spring introductions" in card
    assert url("campaign_detail", spa, campaign.public_id) in card
    assert "1 of 3 steps" in card
    assert "Next: Follow-up call" in card
    assert "due Mar 7" in card
    outside = rows(Practice, name="Delta Derm Newton")[0]
    other = page_text(owner_client.get(reverse("partners:detail", args=[spa.slug, outside.public_id])))
    assert "Not in any campaign." in other


@freeze_time(NOW)
def test_the_practice_page_takes_the_same_queries_for_one_and_several_campaigns(
    owner_client, spa, owner, manager_user, derm, letter
):
    page = reverse("partners:detail", args=[spa.slug, derm[0].public_id])
    launched(spa, manager_user, letter, name="First")

    def count():
        owner_client.get(page)  # warm: the first visit also stores the session's last spa, settings rows…
        with CaptureQueriesContext(connection) as context:
            assert owner_client.get(page).status_code == 200
        return len(context.captured_queries)

    one = count()
    launched(spa, manager_user, letter, name="Second")
    launched(spa, manager_user, letter, name="Third")

    assert count() == one


# --- who may do what -------------------------------------------------------------------------------------


@freeze_time(NOW)
def test_staff_may_look_but_not_create_launch_stop_or_remove(staff_client, spa, manager_user, derm, letter):
    campaign = launched(spa, manager_user, letter)
    with scope(spa=spa):
        draft = campaigns.campaign_save(
            spa=spa, actor=manager_user, fields={"name": "Draft"}, segment={}, steps=[{"kind": "email"}]
        )

    assert staff_client.get(url("campaign_detail", spa, campaign.public_id)).status_code == 200
    assert staff_client.get(url("campaign_create", spa)).status_code == 403
    assert staff_client.post(url("campaign_create", spa), form_data(letter)).status_code == 403
    assert staff_client.get(url("campaign_preview", spa)).status_code == 403
    assert staff_client.post(url("campaign_launch", spa, draft.public_id)).status_code == 403
    assert staff_client.post(url("campaign_stop", spa, campaign.public_id)).status_code == 403
    assert staff_client.get(url("campaign_edit", spa, campaign.public_id)).status_code == 403
    assert staff_client.post(url("campaign_delete", spa, draft.public_id)).status_code == 403
    assert (
        staff_client.post(url("campaign_practice_remove", spa, campaign.public_id, derm[0].public_id)).status_code
        == 403
    )
    assert rows(Campaign, status="draft")[0].pk == draft.pk
    assert rows(Campaign, status="running")[0].pk == campaign.pk
    detail = page_text(staff_client.get(url("campaign_detail", spa, campaign.public_id)))
    assert url("campaign_stop", spa, campaign.public_id) not in detail


@freeze_time(NOW)
def test_outsiders_get_404_and_anonymous_visitors_the_login_page(
    outsider_client, client, spa, manager_user, derm, letter
):
    campaign = launched(spa, manager_user, letter)
    pages = [
        url("campaign_list", spa),
        url("campaign_create", spa),
        url("campaign_preview", spa),
        url("campaign_detail", spa, campaign.public_id),
        url("campaign_edit", spa, campaign.public_id),
    ]
    posts = [
        url("campaign_stop", spa, campaign.public_id),
        url("campaign_launch", spa, campaign.public_id),
        url("campaign_letters_print", spa, campaign.public_id),
        url("campaign_practice_remove", spa, campaign.public_id, derm[0].public_id),
    ]

    for page in pages:
        assert outsider_client.get(page).status_code == 404
        assert client.get(page)["Location"].startswith("/accounts/login/")
    for page in posts:
        assert outsider_client.post(page).status_code == 404
        assert client.post(page)["Location"].startswith("/accounts/login/")
    assert rows(Campaign)[0].status == Campaign.Status.RUNNING


@freeze_time(NOW)
def test_another_spas_campaign_is_404_for_our_manager(manager_client, spa, other_spa, outsider, letter):
    with scope(spa=other_spa):
        theirs_letter = LetterTemplateFactory(spa=other_spa)
        make_practice(other_spa, name="Theirs", city="Boston")
    theirs = launched(other_spa, outsider, theirs_letter, segment={"city": "Boston"})

    assert manager_client.get(url("campaign_detail", spa, theirs.public_id)).status_code == 404
    assert manager_client.post(url("campaign_stop", spa, theirs.public_id)).status_code == 404
    assert rows(Campaign, pk=theirs.pk)[0].status == Campaign.Status.RUNNING
