"""Letter reads: the letters page's recent sends (batches and campaign letter steps together)."""

from dataclasses import dataclass

from django.db.models import Count
from django.urls import reverse
from django.utils.translation import gettext as _

from ..models import Campaign, CampaignStep, LetterBatch

RECENT_LETTER_SENDS = 20


@dataclass(frozen=True)
class LetterSend:
    """One sending of a letter to several practices: a batch from the Letters page, or a campaign's letter step."""

    title: str
    source: str
    practice_count: int
    status_label: str
    sent_at: object
    url: str


def recent_letter_sends(*, spa, limit=RECENT_LETTER_SENDS):
    """The newest letter sends, batches and campaign letter steps together, newest first (two queries)."""
    batches = LetterBatch.objects.filter(spa=spa).select_related("template", "document").order_by("-created_at")[:limit]
    sends = [
        LetterSend(
            title=batch.template.name,
            source=_("Letter batch"),
            practice_count=len(batch.practice_ids),
            status_label=batch.document.get_status_display() if batch.document else "",
            sent_at=batch.created_at,
            url=reverse("outreach:batch", args=[spa.slug, batch.public_id]),
        )
        for batch in batches
    ]
    # A launched campaign's letter step sends one letter with each practice's task for that step.
    steps = (
        CampaignStep.objects.filter(spa=spa, letter_template__isnull=False, campaign__launched_at__isnull=False)
        .exclude(campaign__status=Campaign.Status.DRAFT)
        .annotate(letters=Count("tasks"))
        .filter(letters__gt=0)
        .select_related("campaign", "letter_template")
        .order_by("-campaign__launched_at")[:limit]
    )
    sends += [
        LetterSend(
            title=step.letter_template.name,
            source=_("Campaign “%(name)s”") % {"name": step.campaign.name},
            practice_count=step.letters,
            status_label=step.campaign.get_status_display(),
            sent_at=step.campaign.launched_at,
            url=reverse("outreach:campaign_detail", args=[spa.slug, step.campaign.public_id]),
        )
        for step in steps
    ]
    return sorted(sends, key=lambda send: send.sent_at, reverse=True)[:limit]
