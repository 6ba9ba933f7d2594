"""Writes behind the inbox: who has seen which referral (the *New* mark), and the bulk actions on ticked rows
(assign, mark read, archive a test or spam referral) with what their Undo needs.

Assigning goes through ``services.referral_assign`` one referral at a time, so each keeps its timeline line,
audit event and version. Archiving keeps every row (consent, authorizations, timeline, audit): it only takes
the referral out of the inbox's tabs and counts, and is itself audited and undoable.
"""

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from infra.audit import audit_record

from . import figures, services
from .models import ArchiveReason, Referral, ReferralEvent, ReferralView
from .selectors import referral_counts_changed, referral_seen_changed, seen_referral_ids


def referral_mark_seen(*, referral, user):
    """Record that ``user`` opened ``referral`` (first time only). True when it was New to them until now."""
    _view, created = ReferralView.objects.get_or_create(spa=referral.spa, referral=referral, user=user)
    if created:
        referral_seen_changed(referral.spa_id, user.pk)
    return created


@transaction.atomic
def referrals_mark_read(*, spa, referrals, user):
    """Mark the referrals read for ``user`` without opening them. Returns those that were unread (for Undo)."""
    seen = seen_referral_ids(user=user, referrals=referrals)
    unread = [referral for referral in referrals if referral.pk not in seen]
    ReferralView.objects.bulk_create(
        [ReferralView(spa=spa, referral=referral, user=user) for referral in unread], ignore_conflicts=True
    )
    if unread:
        referral_seen_changed(spa.pk, user.pk)
    return unread


@transaction.atomic
def referrals_mark_unread(*, spa, referrals, user):
    """Undo of "mark read": the referrals are New to ``user`` again."""
    deleted, _by_model = ReferralView.objects.filter(spa=spa, user=user, referral__in=referrals).delete()
    if deleted:
        referral_seen_changed(spa.pk, user.pk)
    return deleted


@transaction.atomic
def referrals_assign(*, referrals, assignee, actor):
    """Assign each referral to ``assignee`` (None: nobody). Returns [(referral, previous assignee id)] for those
    that changed hands; one already with ``assignee`` is left alone."""
    changed = []
    assignee_id = assignee.pk if assignee is not None else None
    for referral in referrals:
        if referral.assignee_id == assignee_id:
            continue
        previous = referral.assignee_id
        services.referral_assign(referral=referral, assignee=assignee, actor=actor)
        changed.append((referral, previous))
    return changed


@transaction.atomic
def referrals_restore_assignees(*, spa, previous, actor):
    """Undo of a bulk assign: ``previous`` is [(referral, user or None)]; each goes back to that person."""
    for referral, assignee in previous:
        services.referral_assign(referral=referral, assignee=assignee, actor=actor)


def _archive_one(referral, *, archived, reason, actor):
    """Archive or restore one locked referral; returns its figures' snapshot from before."""
    before = figures.snapshot(referral)
    referral.archived_at = timezone.now() if archived else None
    referral.archived_reason = reason if archived else ""
    referral.version += 1
    referral.save(update_fields=["archived_at", "archived_reason", "version", "updated_at"])
    label = ArchiveReason(reason).label if archived else ""
    ReferralEvent.objects.create(
        spa=referral.spa,
        referral=referral,
        kind=ReferralEvent.Kind.ARCHIVED if archived else ReferralEvent.Kind.RESTORED,
        note=str(label),
        actor=actor if actor is not None and actor.is_authenticated else None,
    )
    audit_record(
        spa=referral.spa,
        action="referral.archived" if archived else "referral.restored",
        actor=actor,
        obj=referral,
        detail={"reason": reason} if archived else {},
    )
    return before


def _locked_rows(spa, referrals):
    """The spa's rows of ``referrals``, locked (their practice read along, unlocked: the figures need its
    specialty)."""
    return (
        Referral.objects.select_for_update(of=("self",))
        .select_related("practice")
        .filter(spa=spa, pk__in=[r.pk for r in referrals])
        .order_by("pk")
    )


@transaction.atomic
def referrals_archive(*, spa, referrals, reason, actor):
    """Archive test or spam referrals: out of the inbox's tabs, counts and badges, every row kept. Returns those
    archived now (one already archived is left alone)."""
    if reason not in ArchiveReason.values:
        raise ValidationError({"reason": _("Say whether these are test referrals or spam.")})
    archived, changes = [], []
    for referral in _locked_rows(spa, referrals).filter(archived_at=None):
        changes.append((_archive_one(referral, archived=True, reason=reason, actor=actor), referral))
        archived.append(referral)
    if archived:
        figures.referrals_changed(spa, changes)
        referral_counts_changed(spa.pk)
    return archived


@transaction.atomic
def referrals_restore(*, spa, referrals, actor):
    """Bring archived referrals back into the inbox (Undo of archive, or a later change of mind)."""
    restored, changes = [], []
    for referral in _locked_rows(spa, referrals).filter(archived_at__isnull=False):
        changes.append((_archive_one(referral, archived=False, reason="", actor=actor), referral))
        restored.append(referral)
    if restored:
        figures.referrals_changed(spa, changes)
        referral_counts_changed(spa.pk)
    return restored
