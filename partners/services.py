"""Writes for practices, clinicians, contacts, the pipeline, codes and merges."""

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from infra.audit import audit_record
from spas import dependents
from spas.models import Membership

from . import extensions
from .models import (
    Clinician,
    OfficeContact,
    Practice,
    PracticeTag,
    ReferralCode,
    Stage,
    StageChange,
    Tag,
    generate_referral_code,
)

PRACTICE_FIELDS = [
    "name",
    "specialty",
    "address",
    "city",
    "state",
    "postal_code",
    "phone",
    "fax",
    "website",
    "npi",
    "size",
    "source",
    "introduced_by",
    "owner",
    "philosophy",
    "published_articles",
    "community_involvement",
]
CLINICIAN_FIELDS = ["first_name", "last_name", "credentials", "specialty", "email", "phone", "npi"]
CONTACT_FIELDS = ["name", "role", "email", "phone", "preferred_contact_method"]


def parse_tags(text):
    """ "Lunch done, VIP , vip" → ["lunch done", "vip"]: trimmed, lower-cased, de-duplicated, in order."""
    seen = []
    for raw in (text or "").split(","):
        name = " ".join(raw.split()).lower()[:40]
        if name and name not in seen:
            seen.append(name)
    return seen


def _check_owner(spa, owner):
    if owner is not None and not Membership.objects.filter(spa=spa, user=owner).exists():
        raise ValidationError({"owner": _("The owner must be a member of this spa.")})


def referral_code_issue(*, spa, practice, clinician=None):
    """Give the practice (or one clinician) a new unique short code."""
    for _attempt in range(10):
        code = generate_referral_code()
        try:
            with transaction.atomic():
                return ReferralCode.objects.create(spa=spa, practice=practice, clinician=clinician, code=code)
        except IntegrityError:
            continue  # collided with another spa's code; draw again
    raise RuntimeError("Could not draw a unique referral code.")


def practice_set_tags(*, practice, tag_names):
    spa = practice.spa
    wanted = set(tag_names)
    existing = {tag.name: tag for tag in Tag.objects.filter(spa=spa, name__in=wanted)}
    for name in wanted - set(existing):
        existing[name] = Tag.objects.create(spa=spa, name=name)
    PracticeTag.objects.filter(practice=practice).exclude(tag__name__in=wanted).delete()
    linked = set(PracticeTag.objects.filter(practice=practice).values_list("tag__name", flat=True))
    PracticeTag.objects.bulk_create(
        [PracticeTag(spa=spa, practice=practice, tag=existing[name]) for name in wanted - linked]
    )


@transaction.atomic
def practice_create(*, spa, actor, fields, tag_names=()):
    """Create a practice at its initial stage, with a referral code and its first stage-history row."""
    practice = Practice(spa=spa, **{name: value for name, value in fields.items() if name in PRACTICE_FIELDS})
    if "stage" in fields:
        practice.stage = fields["stage"]
        practice.declined_reason = fields.get("declined_reason", "")
    _check_owner(spa, practice.owner)
    practice.full_clean()
    practice.save()
    referral_code_issue(spa=spa, practice=practice)
    practice_set_tags(practice=practice, tag_names=tag_names)
    StageChange.objects.create(spa=spa, practice=practice, from_stage="", to_stage=practice.stage, changed_by=actor)
    audit_record(spa=spa, action="practice.created", actor=actor, obj=practice)
    # A practice created as a trial or active partner gets its partner health (spas/dependents.py).
    dependents.practices_changed(spa=spa, practices=[practice])
    return practice


@transaction.atomic
def practice_update(*, practice, actor, fields, tag_names=None):
    """Change a practice's profile (and tags); the audit event lists the fields that changed."""
    # Compare with the stored row, not with ``practice``: a ModelForm has already copied its
    # cleaned data onto the instance it was given, so comparing with that would find no change.
    stored = Practice.objects.select_for_update().get(pk=practice.pk)
    changed = []
    for name, value in fields.items():
        if name in PRACTICE_FIELDS and getattr(stored, name) != value:
            setattr(stored, name, value)
            changed.append(name)
    practice = stored
    _check_owner(practice.spa, practice.owner)
    practice.full_clean()
    if changed:
        # The referral figures count by the practice's specialty (spas/dependents.py).
        with dependents.changing(spa=practice.spa, practices=[practice] if "specialty" in changed else []):
            practice.save(update_fields=[*changed, "updated_at"])
    if tag_names is not None:
        practice_set_tags(practice=practice, tag_names=tag_names)
    if "name" in changed:
        # Partner health orders partners of equal risk by name (spas/dependents.py).
        dependents.practices_changed(spa=practice.spa, practices=[practice])
    audit_record(
        spa=practice.spa,
        action="practice.updated",
        actor=actor,
        obj=practice,
        detail={"fields": changed},
    )
    return practice


@transaction.atomic
def practice_move_stage(*, practice, to_stage, actor, reason=""):
    """Move a practice in the pipeline and record the move. Declining needs a reason."""
    if to_stage not in Stage.values:
        raise ValidationError({"stage": _("Choose a valid stage.")})
    practice = Practice.objects.select_for_update().get(pk=practice.pk)
    if practice.stage == to_stage:
        return practice
    reason = (reason or "").strip()[:255]
    if to_stage == Stage.DECLINED and not reason:
        raise ValidationError({"reason": _("Say why the practice declined.")})
    previous = practice.stage
    practice.stage = to_stage
    practice.stage_changed_at = timezone.now()
    practice.declined_reason = reason if to_stage == Stage.DECLINED else ""
    practice.save(update_fields=["stage", "stage_changed_at", "declined_reason", "updated_at"])
    StageChange.objects.create(
        spa=practice.spa, practice=practice, from_stage=previous, to_stage=to_stage, reason=reason, changed_by=actor
    )
    audit_record(
        spa=practice.spa,
        action="practice.stage_changed",
        actor=actor,
        obj=practice,
        detail={"from": previous, "to": to_stage},
    )
    # Partner health covers trial and active partners, counted from the day they entered the stage.
    dependents.practices_changed(spa=practice.spa, practices=[practice])
    return practice


@transaction.atomic
def clinician_save(*, practice, actor, fields, clinician=None):
    """Create (clinician=None) or update a clinician. New clinicians get their own referral code."""
    creating = clinician is None
    clinician = clinician or Clinician(spa=practice.spa, practice=practice)
    for name in CLINICIAN_FIELDS:
        if name in fields:
            setattr(clinician, name, fields[name])
    if not clinician.specialty:
        clinician.specialty = practice.specialty  # the form offers empty as "same as the practice"
    clinician.full_clean()
    clinician.save()
    if creating:
        referral_code_issue(spa=practice.spa, practice=practice, clinician=clinician)
    audit_record(
        spa=practice.spa,
        action="clinician.created" if creating else "clinician.updated",
        actor=actor,
        obj=clinician,
    )
    return clinician


@transaction.atomic
def clinician_delete(*, clinician, actor):
    audit_record(
        spa=clinician.spa,
        action="clinician.deleted",
        actor=actor,
        obj=clinician,
        detail={"name": clinician.display_name},
    )
    # Its referrals stay, naming nobody: the referral figures count them so (spas/dependents.py).
    with dependents.changing(spa=clinician.spa, clinicians=[clinician]):
        clinician.delete()


@transaction.atomic
def contact_save(*, practice, actor, fields, contact=None):
    creating = contact is None
    contact = contact or OfficeContact(spa=practice.spa, practice=practice)
    for name in CONTACT_FIELDS:
        if name in fields:
            setattr(contact, name, fields[name])
    contact.full_clean()
    contact.save()
    audit_record(
        spa=practice.spa,
        action="contact.created" if creating else "contact.updated",
        actor=actor,
        obj=contact,
    )
    return contact


@transaction.atomic
def contact_delete(*, contact, actor):
    audit_record(
        spa=contact.spa,
        action="contact.deleted",
        actor=actor,
        obj=contact,
        detail={"name": contact.name},
    )
    contact.delete()


def _references_to_practice():
    """Every foreign key that points at Practice, in any app, hidden ones (related_name="+") included."""
    return [
        relation
        for relation in Practice._meta.get_fields(include_hidden=True)
        if relation.auto_created and not relation.concrete and (relation.one_to_many or relation.one_to_one)
    ]


def _repoint_references(*, merged, survivor):
    """Point every row that references ``merged`` at ``survivor``, whichever app owns it.

    Walking the model graph keeps this app ignorant of the apps built on top of it
    (referrals, outreach): their rows move too, without partners importing them.
    """
    moved = {}
    derived = extensions.derived_models()
    for relation in _references_to_practice():
        related_model = relation.related_model
        if related_model is PracticeTag:
            continue  # handled separately: a tag may be on both practices
        if related_model in derived:
            # Worked out per practice by a higher app, which works the survivor's out again after the merge.
            related_model._base_manager.filter(**{relation.field.name: merged}).delete()
            continue
        field_name = relation.field.name
        rows = related_model._base_manager.filter(**{field_name: merged})
        if related_model._meta.auto_created:
            # A many-to-many link table: drop the links the survivor already has, or they would collide.
            others = [
                field.attname
                for field in related_model._meta.concrete_fields
                if field.is_relation and field.name != field_name
            ]
            existing = set(related_model._base_manager.filter(**{field_name: survivor}).values_list(*others))
            for row_pk, *values in rows.values_list("pk", *others):
                if tuple(values) in existing:
                    related_model._base_manager.filter(pk=row_pk).delete()
        try:
            with transaction.atomic():
                count = rows.update(**{field_name: survivor})
        except IntegrityError as error:
            raise ValidationError(
                _("Both practices have %(records)s that cannot be combined; resolve them first.")
                % {"records": related_model._meta.verbose_name_plural}
            ) from error
        if count:
            moved[related_model._meta.label_lower] = count
    return moved


@transaction.atomic
def practice_merge(*, survivor, merged, actor):
    """Fold ``merged`` into ``survivor``: clinicians, contacts, codes, history, tags and every later
    record move over; empty profile fields are filled from the merged practice; then it is deleted."""
    if survivor.pk == merged.pk:
        raise ValidationError(_("Choose two different practices to merge."))
    if survivor.spa_id != merged.spa_id:
        raise ValidationError(_("Practices of different spas cannot be merged."))
    survivor = Practice.objects.select_for_update().get(pk=survivor.pk)
    merged = Practice.objects.select_for_update().get(pk=merged.pk)
    survivor_tags = set(PracticeTag.objects.filter(practice=survivor).values_list("tag_id", flat=True))
    PracticeTag.objects.filter(practice=merged, tag_id__in=survivor_tags).delete()
    PracticeTag.objects.filter(practice=merged).update(practice=survivor)
    # The merged practice's referrals become the survivor's: the referral figures take them out of the merged
    # practice's rows (leaving none to repoint) and count them under the survivor (spas/dependents.py).
    with dependents.changing(spa=survivor.spa, practices=[merged]):
        moved = _repoint_references(merged=merged, survivor=survivor)
    filled = []
    for name in [
        "address",
        "city",
        "phone",
        "fax",
        "website",
        "npi",
        "size",
        "source",
        "introduced_by",
        "philosophy",
        "published_articles",
        "community_involvement",
    ]:
        if not getattr(survivor, name) and getattr(merged, name):
            setattr(survivor, name, getattr(merged, name))
            filled.append(name)
    if survivor.owner_id is None and merged.owner_id is not None:
        survivor.owner_id = merged.owner_id
        filled.append("owner")
    survivor.full_clean()
    survivor.save()
    audit_record(
        spa=survivor.spa,
        action="practice.merged",
        actor=actor,
        obj=survivor,
        detail={"merged_id": str(merged.public_id), "merged_name": merged.name, "moved": moved, "filled": filled},
    )
    merged.delete()
    # The survivor has the merged practice's touchpoints, referrals and check-ins now (spas/dependents.py).
    dependents.practices_changed(spa=survivor.spa, practices=[survivor])
    return survivor
