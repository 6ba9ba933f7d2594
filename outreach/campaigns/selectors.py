"""Campaign reads: a segment's practices and its preview, the campaign list, a campaign's progress, funnel,
results and letters, and a practice's campaigns. Nothing here writes."""

from django.db.models import Count, Exists, IntegerField, OuterRef, Prefetch, Q, Subquery, Sum, Value
from django.db.models.functions import Coalesce
from django.utils.translation import gettext as _

from infra.models import GeneratedDocument
from partners.models import Practice, PracticeTag, Stage, StageChange
from referrals.models import Referral
from spas.models import Specialty

from ..activity import selectors as activity_selectors
from ..models import (
    Campaign,
    CampaignEnrollment,
    CampaignStep,
    LetterTemplate,
    Task,
    TaskKind,
    Touchpoint,
    TouchpointKind,
)

MAX_PRACTICES = 500


PREVIEW_NAMES = 20


SEGMENT_KEYS = ("specialty", "stage", "city", "tag")


MEETING_KINDS = (TouchpointKind.MEETING, TouchpointKind.LUNCH_PRESENTATION)


def segment_clean(segment):
    """Only the known keys, trimmed, without blanks: {"specialty": "dermatology", "city": "Boston"}."""
    cleaned = {}
    for key in SEGMENT_KEYS:
        value = str((segment or {}).get(key) or "").strip()
        if value:
            cleaned[key] = value
    return cleaned


def segment_practices(*, spa, segment):
    """The spa's practices matching the segment (every practice for an empty one), by name."""
    segment = segment_clean(segment)
    practices = Practice.objects.filter(spa=spa)
    if "specialty" in segment:
        practices = practices.filter(specialty=segment["specialty"])
    if "stage" in segment:
        practices = practices.filter(stage=segment["stage"])
    if "city" in segment:
        practices = practices.filter(city__iexact=segment["city"])
    if "tag" in segment:
        practices = practices.filter(
            pk__in=PracticeTag.objects.filter(spa=spa, tag__name=segment["tag"]).values("practice_id")
        )
    return practices.order_by("name", "pk")


def segment_preview(*, spa, segment, limit=PREVIEW_NAMES):
    """How many practices match, and the first ``limit`` of them (two queries)."""
    practices = segment_practices(spa=spa, segment=segment)
    count = practices.count()
    return {
        "count": count,
        "practices": list(practices[:limit]) if count else [],
        "more": max(count - limit, 0),
        "too_many": count > MAX_PRACTICES,
        "max_practices": MAX_PRACTICES,
    }


def segment_description(segment):
    """The segment in words: "Dermatology · Researched · Boston · tagged “vip”", or "All practices"."""
    segment = segment_clean(segment)
    parts = []
    if "specialty" in segment:
        parts.append(str(dict(Specialty.choices).get(segment["specialty"], segment["specialty"])))
    if "stage" in segment:
        parts.append(str(dict(Stage.choices).get(segment["stage"], segment["stage"])))
    if "city" in segment:
        parts.append(segment["city"])
    if "tag" in segment:
        parts.append(_("tagged “%(tag)s”") % {"tag": segment["tag"]})
    return " · ".join(parts) if parts else _("All practices")


def campaign_was_stopped(campaign):
    """Whether a finished campaign was stopped early (rather than every practice completing)."""
    return (
        campaign.finished_at is not None
        and CampaignEnrollment.objects.filter(
            spa=campaign.spa,
            campaign=campaign,
            status=CampaignEnrollment.Status.STOPPED,
            completed_at=campaign.finished_at,
        ).exists()
    )


def _count_of(queryset):
    return Coalesce(
        Subquery(queryset.values("campaign").annotate(n=Count("pk")).values("n")[:1], output_field=IntegerField()),
        Value(0),
    )


def campaign_list(*, spa, status=None):
    """The spa's campaigns with their practice count, step count and steps done (a fixed number of queries)."""
    campaigns = (
        Campaign.objects.filter(spa=spa)
        .select_related("owner")
        .annotate(
            practice_count=_count_of(CampaignEnrollment.objects.filter(campaign=OuterRef("pk"))),
            step_count=_count_of(CampaignStep.objects.filter(campaign=OuterRef("pk"))),
            steps_done_total=Coalesce(
                Subquery(
                    CampaignEnrollment.objects.filter(campaign=OuterRef("pk"))
                    .values("campaign")
                    .annotate(n=Sum("steps_done"))
                    .values("n")[:1],
                    output_field=IntegerField(),
                ),
                Value(0),
            ),
            kept_count=_count_of(
                CampaignEnrollment.objects.filter(campaign=OuterRef("pk")).exclude(
                    status=CampaignEnrollment.Status.STOPPED
                )
            ),
            kept_done=Coalesce(
                Subquery(
                    CampaignEnrollment.objects.filter(campaign=OuterRef("pk"))
                    .exclude(status=CampaignEnrollment.Status.STOPPED)
                    .values("campaign")
                    .annotate(n=Sum("steps_done"))
                    .values("n")[:1],
                    output_field=IntegerField(),
                ),
                Value(0),
            ),
            stopped=Exists(
                CampaignEnrollment.objects.filter(
                    campaign=OuterRef("pk"),
                    status=CampaignEnrollment.Status.STOPPED,
                    completed_at=OuterRef("finished_at"),
                )
            ),
        )
        .order_by("-created_at", "-pk")
    )
    if status:
        campaigns = campaigns.filter(status=status)
    return campaigns


def progress_percent(done, planned):
    return round(100 * done / planned) if planned else 0


def campaign_percent(campaign):
    """Overall progress of a campaign from ``campaign_list``'s annotations (see ``campaign_overview``)."""
    if campaign.status == Campaign.Status.RUNNING:
        return progress_percent(campaign.kept_done, campaign.kept_count * campaign.step_count)
    return progress_percent(campaign.steps_done_total, campaign.practice_count * campaign.step_count)


def campaign_overview(*, campaign, step_count):
    """Counts by enrollment status and the overall progress (one query)."""
    totals = CampaignEnrollment.objects.filter(spa=campaign.spa, campaign=campaign).aggregate(
        practices=Count("pk"),
        active=Count("pk", filter=Q(status=CampaignEnrollment.Status.ACTIVE)),
        completed=Count("pk", filter=Q(status=CampaignEnrollment.Status.COMPLETED)),
        stopped=Count("pk", filter=Q(status=CampaignEnrollment.Status.STOPPED)),
        done_all=Coalesce(Sum("steps_done"), 0),
        done_kept=Coalesce(Sum("steps_done", filter=~Q(status=CampaignEnrollment.Status.STOPPED)), 0),
    )
    if campaign.status == Campaign.Status.RUNNING:
        # Practices taken out of a running campaign no longer count towards what is left to do.
        done, practices = totals["done_kept"], totals["active"] + totals["completed"]
    else:
        done, practices = totals["done_all"], totals["practices"]
    planned = practices * step_count
    return {
        **totals,
        "step_count": step_count,
        "steps_done": done,
        "steps_planned": planned,
        "percent": progress_percent(done, planned),
    }


def campaign_step_funnel(*, campaign, steps, practices):
    """How many enrolled practices have done each step (one query): [(step, count, percent)]."""
    counts = dict(
        Task.objects.filter(spa=campaign.spa, campaign_enrollment__campaign=campaign, done_at__isnull=False)
        .values("campaign_step")
        .annotate(n=Count("campaign_enrollment", distinct=True))
        .values_list("campaign_step", "n")
    )
    return [(step, counts.get(step.pk, 0), progress_percent(counts.get(step.pk, 0), practices)) for step in steps]


def campaign_results(*, campaign):
    """What happened at the targeted practices since launch (three queries, whatever their number).

    Touchpoints and meetings count from the launch day (their date, on the spa's calendar); partners
    won are practices moved to Active since launch; referrals are those received since launch.
    """
    empty = {
        "touchpoints": 0,
        "meetings": 0,
        "partners_won": 0,
        "referrals": 0,
        "practices_reached": 0,
        "practices_met": 0,
        "practices_referring": 0,
    }
    if campaign.launched_at is None:
        return empty
    spa = campaign.spa
    targeted = CampaignEnrollment.objects.filter(spa=spa, campaign=campaign).values("practice_id")
    launch_day = activity_selectors.spa_today(spa, campaign.launched_at)
    touchpoints = Touchpoint.objects.filter(spa=spa, practice_id__in=targeted, occurred_on__gte=launch_day).aggregate(
        touchpoints=Count("pk"),
        meetings=Count("pk", filter=Q(kind__in=MEETING_KINDS)),
        practices_reached=Count("practice", distinct=True),
        practices_met=Count("practice", distinct=True, filter=Q(kind__in=MEETING_KINDS)),
    )
    won = StageChange.objects.filter(
        spa=spa, practice_id__in=targeted, to_stage=Stage.ACTIVE, changed_at__gte=campaign.launched_at
    ).aggregate(partners_won=Count("practice", distinct=True))
    referrals = Referral.objects.filter(
        spa=spa, practice_id__in=targeted, received_at__gte=campaign.launched_at
    ).aggregate(referrals=Count("pk"), practices_referring=Count("practice", distinct=True))
    return {**empty, **touchpoints, **won, **referrals}


def campaign_enrollments(*, campaign):
    """The campaign's practices with their open step task (assignee loaded), for the practice table."""
    return (
        CampaignEnrollment.objects.filter(spa=campaign.spa, campaign=campaign)
        .select_related("practice", "practice__owner")
        .prefetch_related(
            Prefetch(
                "tasks",
                queryset=Task.objects.filter(done_at=None)
                .select_related("assignee", "campaign_step")
                .order_by("due_on", "pk"),
                to_attr="open_tasks",
            )
        )
        .order_by("practice__name", "pk")
    )


def campaign_letters(*, campaign, practices, steps):
    """The newest letter document per practice made from this campaign's letter templates (one query)."""
    template_ids = {str(step.letter_template.public_id) for step in steps if step.letter_template_id}
    if not template_ids or not practices:
        return {}
    documents = (
        GeneratedDocument.objects.filter(
            spa=campaign.spa,
            kind="letter",
            batch=None,
            source_type="partners.Practice",
            source_id__in=[str(practice.public_id) for practice in practices],
            options__template__in=sorted(template_ids),
        )
        .only("public_id", "status", "source_id", "requested_at", "title")
        .order_by("requested_at", "pk")
    )
    return {document.source_id: document for document in documents}  # newest wins


def campaign_current_letter_practices(*, campaign):
    """Practices whose open campaign task is a letter step, with that step's template: [(template, practices)]."""
    tasks = (
        Task.objects.filter(
            spa=campaign.spa,
            campaign_enrollment__campaign=campaign,
            campaign_enrollment__status=CampaignEnrollment.Status.ACTIVE,
            done_at=None,
            campaign_step__kind=TaskKind.LETTER,
            campaign_step__letter_template__isnull=False,
        )
        .select_related("practice", "campaign_step__letter_template")
        .order_by("practice__name", "pk")
    )
    groups = {}
    for task in tasks:
        template = task.campaign_step.letter_template
        groups.setdefault(template.pk, (template, []))[1].append(task.practice)
    return list(groups.values())


def practice_campaigns(*, practice):
    """The campaigns a practice is in, newest first, with step count and its open step task (two queries)."""
    return list(
        CampaignEnrollment.objects.filter(spa=practice.spa, practice=practice)
        .select_related("campaign")
        .annotate(step_count=_count_of(CampaignStep.objects.filter(campaign=OuterRef("campaign"))))
        .prefetch_related(
            Prefetch(
                "tasks",
                queryset=Task.objects.filter(done_at=None)
                .select_related("assignee", "campaign_step")
                .order_by("due_on", "pk"),
                to_attr="open_tasks",
            )
        )
        .order_by("-campaign__created_at", "-pk")
    )


def letter_templates(*, spa):
    return LetterTemplate.objects.filter(spa=spa).order_by("name", "pk")
