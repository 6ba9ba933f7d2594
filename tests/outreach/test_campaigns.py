"""Campaign services: launch over a segment, step tasks and letters, advancing on done and on touchpoints,
undo, completion, stop, removing a practice, the hourly job, and the results since launch."""

import datetime

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone
from django_scopes import scope, scopes_disabled
from freezegun import freeze_time

import outreach.campaigns.services  # noqa: F401 - registers the task hooks (apps.ready imports it too)
from infra.models import AuditEvent, GeneratedDocument
from outreach.activity import selectors as activity_selectors
from outreach.activity import services as activity_services
from outreach.campaigns import selectors as campaigns_selectors
from outreach.campaigns import services as campaigns_services
from outreach.models import Campaign, CampaignEnrollment, Task, TaskSource, Touchpoint
from partners.models import StageChange
from partners.services import practice_move_stage, practice_set_tags
from spas.models import Membership

from ..factories import LetterTemplateFactory, MembershipFactory, ReferralFactory, UserFactory
from .helpers import make_practice, rows

NOW = "2026-03-02 15:00:00"  # 10:00 in New York, the test spa's time zone
TODAY = datetime.date(2026, 3, 2)


def letter_template(spa, name="Introduction"):
    with scope(spa=spa):
        return LetterTemplateFactory(spa=spa, name=name)


def default_steps(letter):
    return [
        {"kind": "letter", "title": "", "days_after_previous": 0, "letter_template": letter},
        {"kind": "phone_call", "title": "Follow-up call", "days_after_previous": 5, "letter_template": None},
        {"kind": "lunch_presentation", "title": "Invite to lunch", "days_after_previous": 14, "letter_template": None},
    ]


def save_campaign(spa, actor, *, segment, steps, launch=True, owner=None, name="Spring introductions"):
    with scope(spa=spa):
        return campaigns_services.campaign_save(
            spa=spa,
            actor=actor,
            fields={"name": name, "description": "Meet the dermatologists", "owner": owner},
            segment=segment,
            steps=steps,
            launch=launch,
        )


def campaign_tasks(campaign, **filters):
    return sorted(
        rows(Task, campaign_enrollment__campaign=campaign, **filters), key=lambda task: (task.practice.name, task.pk)
    )


def enrollment_of(campaign, practice):
    with scopes_disabled():
        return CampaignEnrollment.objects.get(campaign=campaign, practice=practice)


def reload(obj):
    with scopes_disabled():
        return type(obj).objects.get(pk=obj.pk)


@pytest.fixture
def derm(spa, owner):
    """Three Boston dermatology practices (two owned by the owner), and practices that do not match."""
    with scope(spa=spa):
        practices = [
            make_practice(spa, name="Alpha Dermatology", city="Boston", stage="researched", owner=owner),
            make_practice(spa, name="Beta Skin", city="boston", stage="researched"),
            make_practice(spa, name="Gamma Derm", city="Boston", stage="researched", owner=owner),
        ]
        make_practice(spa, name="Delta Derm Newton", city="Newton", stage="researched")
        make_practice(spa, name="Epsilon OB-GYN", specialty="ob_gyn", city="Boston", stage="researched")
        make_practice(spa, name="Zeta Derm Prospect", city="Boston", stage="prospect")
    return practices


SEGMENT = {"specialty": "dermatology", "stage": "researched", "city": "Boston"}


# --- launch ------------------------------------------------------------------------------------------


@freeze_time(NOW)
def test_launch_enrolls_exactly_the_segment_and_gives_each_practice_its_letter_task(spa, owner, manager_user, derm):
    letter = letter_template(spa)

    campaign = save_campaign(spa, manager_user, segment=SEGMENT, steps=default_steps(letter))

    campaign = reload(campaign)
    assert campaign.status == Campaign.Status.RUNNING
    assert campaign.launched_at == timezone.now()
    assert campaign.segment == SEGMENT
    enrolled = sorted(enrollment.practice.name for enrollment in rows(CampaignEnrollment, campaign=campaign))
    assert enrolled == ["Alpha Dermatology", "Beta Skin", "Gamma Derm"]
    tasks = campaign_tasks(campaign)
    assert [task.title for task in tasks] == [
        "Send a letter · Alpha Dermatology",
        "Send a letter · Beta Skin",
        "Send a letter · Gamma Derm",
    ]
    assert {task.kind for task in tasks} == {"letter"}
    assert {task.due_on for task in tasks} == {TODAY}
    assert {task.source for task in tasks} == {TaskSource.CAMPAIGN}
    assert {task.campaign_step.position for task in tasks} == {1}
    assert [task.dedupe_key for task in tasks] == [f"campaign:{task.campaign_enrollment_id}:1" for task in tasks]
    # The practice's owner does the task; a practice without one goes to whoever created the campaign.
    assert [task.assignee for task in tasks] == [owner, manager_user, owner]
    letters = rows(GeneratedDocument, kind="letter")
    assert sorted(document.title for document in letters) == [
        "Letter to Alpha Dermatology",
        "Letter to Beta Skin",
        "Letter to Gamma Derm",
    ]
    assert {document.options["template"] for document in letters} == {str(letter.public_id)}
    assert rows(AuditEvent, action="campaign.launched")[0].detail["practices"] == 3
    assert len(rows(AuditEvent, action="task.created")) == 3


@freeze_time(NOW)
def test_a_campaign_assignee_gets_every_task(spa, owner, manager_user, staff_user, derm):
    campaign = save_campaign(
        spa, manager_user, segment=SEGMENT, steps=default_steps(letter_template(spa)), owner=staff_user
    )

    assert {task.assignee for task in campaign_tasks(campaign)} == {staff_user}


@freeze_time(NOW)
def test_someone_who_left_the_team_is_skipped_for_the_next_in_line(spa, owner, manager_user, derm):
    leaver = MembershipFactory(spa=spa, role="staff", user=UserFactory(email="leaver@example.com")).user
    with scope(spa=spa):
        campaign = campaigns_services.campaign_save(
            spa=spa,
            actor=manager_user,
            fields={"name": "C", "owner": leaver},
            segment=SEGMENT,
            steps=default_steps(letter_template(spa)),
        )
        Membership.objects.filter(user=leaver).delete()
        campaigns_services.campaign_launch(campaign=campaign, actor=manager_user)

    assert [task.assignee for task in campaign_tasks(campaign)] == [owner, manager_user, owner]


@freeze_time(NOW)
def test_a_tag_segment_matches_tagged_practices_only(spa, manager_user, derm):
    with scope(spa=spa):
        practice_set_tags(practice=derm[1], tag_names=["vip"])
        other = make_practice(spa, name="Omega Chiro", specialty="chiropractic")
        practice_set_tags(practice=other, tag_names=["vip"])

    campaign = save_campaign(spa, manager_user, segment={"tag": "vip"}, steps=default_steps(letter_template(spa)))

    assert sorted(e.practice.name for e in rows(CampaignEnrollment, campaign=campaign)) == ["Beta Skin", "Omega Chiro"]


def test_the_segment_preview_counts_and_names_the_first_practices(spa, derm):
    with scope(spa=spa):
        preview = campaigns_selectors.segment_preview(spa=spa, segment=SEGMENT, limit=2)
        everything = campaigns_selectors.segment_preview(spa=spa, segment={})

    assert preview["count"] == 3
    assert [practice.name for practice in preview["practices"]] == ["Alpha Dermatology", "Beta Skin"]
    assert preview["more"] == 1
    assert everything["count"] == 6


@freeze_time(NOW)
def test_launching_twice_is_refused_and_creates_nothing_more(spa, manager_user, derm):
    campaign = save_campaign(spa, manager_user, segment=SEGMENT, steps=default_steps(letter_template(spa)))
    with scope(spa=spa):
        make_practice(spa, name="Late Dermatology", city="Boston", stage="researched")
        with pytest.raises(ValidationError, match="already been launched"):
            campaigns_services.campaign_launch(campaign=campaign, actor=manager_user)

    assert len(rows(CampaignEnrollment, campaign=campaign)) == 3
    assert len(campaign_tasks(campaign)) == 3


@freeze_time(NOW)
def test_the_hourly_job_run_twice_creates_nothing_extra_and_repairs_a_missing_task(spa, manager_user, derm):
    campaign = save_campaign(spa, manager_user, segment=SEGMENT, steps=default_steps(letter_template(spa)))

    with scope(spa=spa):
        assert campaigns_services.campaigns_advance(spa=spa) == 0
        assert campaigns_services.campaigns_advance(spa=spa) == 0
        Task.objects.filter(pk=campaign_tasks(campaign)[1].pk).delete()  # lost somehow
        assert campaigns_services.campaigns_advance(spa=spa) == 1
        assert campaigns_services.campaigns_advance(spa=spa) == 0

    tasks = campaign_tasks(campaign)
    assert [task.practice.name for task in tasks] == ["Alpha Dermatology", "Beta Skin", "Gamma Derm"]
    assert tasks[1].due_on == TODAY  # the launch day


@freeze_time(NOW)
def test_the_celery_job_runs_over_every_spa(spa, other_spa, manager_user, derm):
    from outreach.tasks import campaigns_advance_task

    campaign = save_campaign(spa, manager_user, segment=SEGMENT, steps=default_steps(letter_template(spa)))
    with scopes_disabled():
        Task.objects.filter(campaign_enrollment__campaign=campaign).delete()

    assert campaigns_advance_task() == 3
    assert campaigns_advance_task() == 0
    assert len(campaign_tasks(campaign)) == 3


# --- steps move on ---------------------------------------------------------------------------------------


@freeze_time(NOW)
def test_marking_the_letter_done_creates_the_call_task_five_days_later(spa, owner, manager_user, derm):
    campaign = save_campaign(spa, manager_user, segment=SEGMENT, steps=default_steps(letter_template(spa)))
    letter_task = campaign_tasks(campaign)[0]

    with scope(spa=spa):
        activity_services.task_complete(task=letter_task, actor=owner)

    enrollment = enrollment_of(campaign, derm[0])
    assert enrollment.steps_done == 1
    assert enrollment.status == CampaignEnrollment.Status.ACTIVE
    call = campaign_tasks(campaign, done_at=None, practice=derm[0])
    assert [(task.title, task.kind, task.due_on, task.assignee) for task in call] == [
        ("Follow-up call · Alpha Dermatology", "phone_call", TODAY + datetime.timedelta(days=5), owner)
    ]
    assert call[0].dedupe_key == f"campaign:{enrollment.pk}:2"
    # Marking the letter done logged the letter touchpoint, linked to the campaign.
    assert [(t.kind, t.campaign_id) for t in rows(Touchpoint, practice=derm[0])] == [("letter", campaign.pk)]
    assert enrollment_of(campaign, derm[1]).steps_done == 0


@freeze_time(NOW)
def test_logging_a_call_at_the_practice_completes_the_call_step_and_schedules_the_invitation(
    spa, owner, manager_user, derm
):
    campaign = save_campaign(spa, manager_user, segment=SEGMENT, steps=default_steps(letter_template(spa)))
    with scope(spa=spa):
        activity_services.task_complete(task=campaign_tasks(campaign)[0], actor=owner)
        # The call happened yesterday (earlier than planned) and is logged from the practice page.
        activity_services.touchpoint_log(
            spa=spa, practice=derm[0], kind="phone_call", occurred_on=TODAY - datetime.timedelta(days=1), actor=owner
        )

    enrollment = enrollment_of(campaign, derm[0])
    assert enrollment.steps_done == 2
    open_tasks = campaign_tasks(campaign, done_at=None, practice=derm[0])
    assert [(task.kind, task.due_on) for task in open_tasks] == [
        ("lunch_presentation", TODAY - datetime.timedelta(days=1) + datetime.timedelta(days=14))
    ]
    assert open_tasks[0].title == "Invite to lunch · Alpha Dermatology"


@freeze_time(NOW)
def test_a_touchpoint_of_another_kind_does_not_move_the_campaign(spa, owner, manager_user, derm):
    campaign = save_campaign(spa, manager_user, segment=SEGMENT, steps=default_steps(letter_template(spa)))
    with scope(spa=spa):
        activity_services.touchpoint_log(spa=spa, practice=derm[0], kind="email", occurred_on=TODAY, actor=owner)

    assert enrollment_of(campaign, derm[0]).steps_done == 0
    assert len(campaign_tasks(campaign, done_at=None)) == 3


@freeze_time(NOW)
def test_undoing_the_letter_removes_the_call_task_and_counts_the_step_undone(spa, owner, manager_user, derm):
    campaign = save_campaign(spa, manager_user, segment=SEGMENT, steps=default_steps(letter_template(spa)))
    letter_task = campaign_tasks(campaign)[0]
    with scope(spa=spa):
        activity_services.task_complete(task=letter_task, actor=owner)
        activity_services.task_reopen(task=letter_task, actor=owner)

    enrollment = enrollment_of(campaign, derm[0])
    assert enrollment.steps_done == 0
    assert [task.kind for task in campaign_tasks(campaign, practice=derm[0])] == ["letter"]
    assert reload(letter_task).done_at is None
    assert rows(Touchpoint, practice=derm[0]) == []  # the touchpoint marking it done logged is gone too

    # Done again: the call task comes back once (a fresh one, due five days after this time).
    with scope(spa=spa):
        activity_services.task_complete(task=letter_task, actor=owner)
    assert [task.kind for task in campaign_tasks(campaign, practice=derm[0], done_at=None)] == ["phone_call"]


@freeze_time(NOW)
def test_undoing_an_earlier_step_keeps_a_later_step_that_is_already_done(spa, owner, manager_user, derm):
    campaign = save_campaign(spa, manager_user, segment=SEGMENT, steps=default_steps(letter_template(spa)))
    letter_task = campaign_tasks(campaign)[0]
    with scope(spa=spa):
        activity_services.task_complete(task=letter_task, actor=owner)
        call_task = campaign_tasks(campaign, done_at=None, practice=derm[0])[0]
        activity_services.task_complete(task=call_task, actor=owner)
        activity_services.task_reopen(task=letter_task, actor=owner)

    enrollment = enrollment_of(campaign, derm[0])
    assert enrollment.steps_done == 1  # the call is still done
    assert reload(call_task).done_at is not None
    # The invitation task (after the call) was not done: it went with the undo.
    assert [task.kind for task in campaign_tasks(campaign, practice=derm[0], done_at=None)] == ["letter"]


@freeze_time(NOW)
def test_the_last_step_completes_the_practice_and_the_last_practice_finishes_the_campaign(
    spa, owner, manager_user, derm
):
    steps = [{"kind": "phone_call", "title": "", "days_after_previous": 0, "letter_template": None}]
    campaign = save_campaign(spa, manager_user, segment=SEGMENT, steps=steps)
    first, second, third = campaign_tasks(campaign)
    with scope(spa=spa):
        activity_services.task_complete(task=first, actor=owner)
        activity_services.task_complete(task=second, actor=owner)
        assert reload(campaign).status == Campaign.Status.RUNNING
        activity_services.task_complete(task=third, actor=owner)

    enrollment = enrollment_of(campaign, derm[2])
    assert enrollment.status == CampaignEnrollment.Status.COMPLETED
    assert enrollment.completed_at == timezone.now()
    campaign = reload(campaign)
    assert campaign.status == Campaign.Status.FINISHED
    assert campaign.finished_at is not None
    with scope(spa=spa):
        assert not campaigns_selectors.campaign_was_stopped(campaign)
        assert campaigns_services.campaigns_advance(spa=spa) == 0

    # Undoing the step that finished it opens the campaign again.
    with scope(spa=spa):
        activity_services.task_reopen(task=third, actor=owner)
    assert reload(campaign).status == Campaign.Status.RUNNING
    assert enrollment_of(campaign, derm[2]).status == CampaignEnrollment.Status.ACTIVE
    assert enrollment_of(campaign, derm[2]).steps_done == 0


@freeze_time(NOW)
def test_the_hourly_job_finishes_a_campaign_with_nobody_left_in_progress(spa, manager_user, derm):
    campaign = save_campaign(spa, manager_user, segment=SEGMENT, steps=default_steps(letter_template(spa)))
    with scopes_disabled():
        CampaignEnrollment.objects.filter(campaign=campaign).update(status=CampaignEnrollment.Status.STOPPED)

    with scope(spa=spa):
        campaigns_services.campaigns_advance(spa=spa)

    assert reload(campaign).status == Campaign.Status.FINISHED


@freeze_time(NOW)
def test_the_hourly_job_corrects_progress_a_hook_missed(spa, owner, manager_user, derm):
    campaign = save_campaign(spa, manager_user, segment=SEGMENT, steps=default_steps(letter_template(spa)))
    with scopes_disabled():
        # A letter marked done behind the services' back (say, a data fix): no call task yet.
        Task.objects.filter(pk=campaign_tasks(campaign)[0].pk).update(done_at=timezone.now())

    with scope(spa=spa):
        assert campaigns_services.campaigns_advance(spa=spa) == 1

    assert enrollment_of(campaign, derm[0]).steps_done == 1
    assert [t.due_on for t in campaign_tasks(campaign, practice=derm[0], done_at=None)] == [
        TODAY + datetime.timedelta(days=5)
    ]


# --- stop and remove -------------------------------------------------------------------------------------


@freeze_time(NOW)
def test_stopping_keeps_done_work_removes_open_tasks_and_stops_the_practices_in_progress(
    spa, owner, manager_user, derm
):
    campaign = save_campaign(spa, manager_user, segment=SEGMENT, steps=default_steps(letter_template(spa)))
    letter_task = campaign_tasks(campaign)[0]
    with scope(spa=spa):
        activity_services.task_complete(task=letter_task, actor=owner)
        manual, _created = activity_services.task_create(
            spa=spa, title="Bring brochures", due_on=TODAY, practice=derm[1]
        )
        campaigns_services.campaign_stop(campaign=campaign, actor=manager_user)

    campaign = reload(campaign)
    assert campaign.status == Campaign.Status.FINISHED
    assert [task.pk for task in campaign_tasks(campaign)] == [letter_task.pk]  # only the done work is left
    assert reload(manual).done_at is None  # tasks that are not the campaign's are untouched
    assert {e.status for e in rows(CampaignEnrollment, campaign=campaign)} == {CampaignEnrollment.Status.STOPPED}
    assert enrollment_of(campaign, derm[0]).steps_done == 1
    assert len(rows(Touchpoint, practice=derm[0])) == 1
    with scope(spa=spa):
        assert campaigns_selectors.campaign_was_stopped(campaign)
        # Undoing done work afterwards changes nothing and creates nothing.
        activity_services.task_reopen(task=letter_task, actor=owner)
        assert campaigns_services.campaigns_advance(spa=spa) == 0
    assert reload(campaign).status == Campaign.Status.FINISHED
    assert len(campaign_tasks(campaign)) == 1
    audit = rows(AuditEvent, action="campaign.stopped")[0]
    assert audit.detail == {"practices_stopped": 3, "tasks_removed": 3}
    assert len(rows(AuditEvent, action="task.deleted")) == 3

    with scope(spa=spa), pytest.raises(ValidationError, match="Only a running campaign"):
        campaigns_services.campaign_stop(campaign=campaign, actor=manager_user)


@freeze_time(NOW)
def test_removing_one_practice_stops_only_that_one(spa, owner, manager_user, derm):
    campaign = save_campaign(spa, manager_user, segment=SEGMENT, steps=default_steps(letter_template(spa)))
    with scope(spa=spa):
        campaigns_services.campaign_enrollment_remove(enrollment=enrollment_of(campaign, derm[1]), actor=manager_user)

    assert enrollment_of(campaign, derm[1]).status == CampaignEnrollment.Status.STOPPED
    assert [task.practice.name for task in campaign_tasks(campaign)] == ["Alpha Dermatology", "Gamma Derm"]
    assert reload(campaign).status == Campaign.Status.RUNNING
    with scope(spa=spa):
        assert campaigns_services.campaigns_advance(spa=spa) == 0  # a removed practice gets no new task
        with pytest.raises(ValidationError, match="no longer in progress"):
            campaigns_services.campaign_enrollment_remove(
                enrollment=enrollment_of(campaign, derm[1]), actor=manager_user
            )
        campaigns_services.campaign_enrollment_remove(enrollment=enrollment_of(campaign, derm[0]), actor=manager_user)
        campaigns_services.campaign_enrollment_remove(enrollment=enrollment_of(campaign, derm[2]), actor=manager_user)

    assert reload(campaign).status == Campaign.Status.FINISHED


# --- validation ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("steps", "message"),
    [
        ([], "Add at least one step."),
        (
            [{"kind": "phone_call", "title": "", "days_after_previous": 3, "letter_template": None}],
            "The first step happens at launch",
        ),
        ([{"kind": "letter", "title": "", "days_after_previous": 0, "letter_template": None}], "choose the letter"),
    ],
)
def test_refused_steps_save_nothing(spa, manager_user, derm, steps, message):
    with pytest.raises(ValidationError, match=message):
        save_campaign(spa, manager_user, segment=SEGMENT, steps=steps, launch=False)

    assert rows(Campaign) == []


def test_another_spas_letter_template_is_refused(spa, other_spa, manager_user, derm):
    foreign = letter_template(other_spa, name="Not ours")

    with pytest.raises(ValidationError, match="Unknown letter"):
        save_campaign(spa, manager_user, segment=SEGMENT, steps=default_steps(foreign), launch=False)

    assert rows(Campaign) == []


def test_a_segment_matching_no_practice_cannot_launch(spa, manager_user, derm):
    with pytest.raises(ValidationError, match="No practice matches"):
        save_campaign(spa, manager_user, segment={"specialty": "oncology"}, steps=default_steps(letter_template(spa)))

    assert rows(Campaign) == []  # the draft was not kept either: save-and-launch is one step
    draft = save_campaign(
        spa, manager_user, segment={"specialty": "oncology"}, steps=default_steps(letter_template(spa)), launch=False
    )
    with scope(spa=spa), pytest.raises(ValidationError, match="No practice matches"):
        campaigns_services.campaign_launch(campaign=draft, actor=manager_user)
    assert reload(draft).status == Campaign.Status.DRAFT
    assert rows(Task) == []


def test_a_segment_matching_too_many_practices_cannot_launch(spa, manager_user, derm, monkeypatch):
    monkeypatch.setattr(campaigns_services, "MAX_PRACTICES", 2)

    with pytest.raises(ValidationError, match="More than 2 practices match"):
        save_campaign(spa, manager_user, segment=SEGMENT, steps=default_steps(letter_template(spa)))

    assert rows(CampaignEnrollment) == []


def test_a_launched_campaign_keeps_its_steps(spa, manager_user, derm):
    with freeze_time(NOW):
        campaign = save_campaign(spa, manager_user, segment=SEGMENT, steps=default_steps(letter_template(spa)))

    with scope(spa=spa), pytest.raises(ValidationError, match="keeps its steps"):
        campaigns_services.campaign_save(
            spa=spa,
            actor=manager_user,
            campaign=campaign,
            fields={"name": "Changed"},
            segment={},
            steps=[{"kind": "email", "days_after_previous": 0}],
        )
    assert reload(campaign).name == "Spring introductions"
    assert [step.kind for step in rows(type(campaign).steps.rel.related_model, campaign=campaign)] == [
        "letter",
        "phone_call",
        "lunch_presentation",
    ]


def test_editing_a_draft_replaces_its_steps(spa, manager_user, derm):
    draft = save_campaign(spa, manager_user, segment=SEGMENT, steps=default_steps(letter_template(spa)), launch=False)

    with scope(spa=spa):
        campaigns_services.campaign_save(
            spa=spa,
            actor=manager_user,
            campaign=draft,
            fields={"name": "Renamed"},
            segment={"city": "Newton"},
            steps=[{"kind": "email", "title": "Say hello", "days_after_previous": 0}],
        )
        steps = list(draft.steps.order_by("position"))

    assert reload(draft).name == "Renamed"
    assert reload(draft).segment == {"city": "Newton"}
    assert [(step.position, step.kind, step.title) for step in steps] == [(1, "email", "Say hello")]


# --- results ---------------------------------------------------------------------------------------------


def test_results_count_only_the_targeted_practices_since_launch(spa, owner, manager_user, derm):
    other = derm[0].__class__  # Practice
    with scope(spa=spa):
        outside = other.objects.get(spa=spa, name="Delta Derm Newton")
    launch_moment = "2026-03-02 15:00:00"
    before, after = datetime.date(2026, 3, 1), datetime.date(2026, 3, 4)
    with freeze_time("2026-02-27 15:00:00"), scope(spa=spa):
        # Before launch: none of these count.
        Touchpoint.objects.create(spa=spa, practice=derm[0], kind="meeting", occurred_on=before)
        practice_move_stage(practice=derm[2], to_stage="active", actor=owner)
        ReferralFactory(spa=spa, practice=derm[0])
    with freeze_time(launch_moment):
        campaign = save_campaign(spa, manager_user, segment=SEGMENT, steps=default_steps(letter_template(spa)))
    with freeze_time("2026-03-05 15:00:00"), scope(spa=spa):
        for practice, kind in [
            (derm[0], "phone_call"),
            (derm[0], "meeting"),
            (derm[1], "lunch_presentation"),
            (derm[1], "email"),
            (outside, "meeting"),  # not targeted
        ]:
            Touchpoint.objects.create(spa=spa, practice=practice, kind=kind, occurred_on=after)
        practice_move_stage(practice=derm[1], to_stage="active", actor=owner)
        practice_move_stage(practice=outside, to_stage="active", actor=owner)
        ReferralFactory(spa=spa, practice=derm[1])
        ReferralFactory(spa=spa, practice=derm[1])
        ReferralFactory(spa=spa, practice=derm[0])
        ReferralFactory(spa=spa, practice=outside)
        assert StageChange.objects.filter(to_stage="active").count() == 3

        results = campaigns_selectors.campaign_results(campaign=reload(campaign))

    assert results == {
        "touchpoints": 4,
        "meetings": 2,
        "partners_won": 1,
        "referrals": 3,
        "practices_reached": 2,
        "practices_met": 2,
        "practices_referring": 2,
    }


def test_a_draft_has_no_results(spa, manager_user, derm):
    draft = save_campaign(spa, manager_user, segment=SEGMENT, steps=default_steps(letter_template(spa)), launch=False)

    with scope(spa=spa):
        assert campaigns_selectors.campaign_results(campaign=draft)["touchpoints"] == 0


# --- demo data -------------------------------------------------------------------------------------------


def test_the_demo_campaign_runs_over_the_sports_medicine_practices_with_some_steps_done(db):
    from outreach.campaigns.demo import seed_campaigns
    from partners.demo import seed_partners

    from ..factories import SpaFactory

    demo_spa = SpaFactory(name="Serenity Day Spa", slug="serenity-spa")
    demo_owner = MembershipFactory(spa=demo_spa, role="owner").user
    seed_partners({"serenity-spa": demo_spa})
    with scope(spa=demo_spa):
        assert seed_campaigns(demo_spa, demo_owner) == 1
        assert seed_campaigns(demo_spa, demo_owner) == 0  # idempotent
        today = activity_selectors.spa_today(demo_spa)
        campaign = Campaign.objects.get(spa=demo_spa)
        enrollments = {e.practice.name: e.steps_done for e in CampaignEnrollment.objects.filter(campaign=campaign)}
        open_tasks = sorted(
            (task.practice.name, task.kind, (task.due_on - today).days)
            for task in Task.objects.filter(campaign_enrollment__campaign=campaign, done_at=None)
        )
        assert campaigns_services.campaigns_advance(spa=demo_spa) == 0

    assert campaign.status == Campaign.Status.RUNNING
    assert (today - activity_selectors.spa_today(demo_spa, campaign.launched_at)).days == 10
    assert enrollments == {"Charles River Sports Clinic": 2, "Marathon Orthopedics": 2, "Peak Sports Medicine": 1}
    assert open_tasks == [
        ("Charles River Sports Clinic", "lunch_presentation", 11),
        ("Marathon Orthopedics", "lunch_presentation", 11),
        ("Peak Sports Medicine", "phone_call", -4),  # overdue
    ]
