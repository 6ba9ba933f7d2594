"""The objection library: prepared answers to the concerns practices raise, the log of objections met at
practices (the response used and how it went), and the summary of which come up and which answers work.

Every spa starts with sound default responses, seeded on first use category by category. A category is
seeded once in a spa's life: the "objection_library.seeded" audit event names the categories seeded, so a
category the spa has since edited, emptied or archived is never filled again; a category added to the code
later is seeded the next time the library is used.

Logging an objection does not log a touchpoint: the objection came up during a contact that is logged on its
own (a call, a meeting, a lunch presentation). The log may point at that touchpoint.
"""

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from infra.audit import audit_record
from infra.models import AuditEvent
from spas.models import Spa

from ..activity.selectors import spa_today
from ..models import ObjectionCategory, ObjectionLog, ObjectionResponse

SEEDED_ACTION = "objection_library.seeded"

# (what they say, how to answer). "%(spa)s" becomes the spa's name when the row is seeded.
DEFAULT_RESPONSES = {
    ObjectionCategory.QUALIFICATIONS: [
        (
            gettext_lazy("How do I know your therapists are qualified to treat my patients?"),
            gettext_lazy(
                "Every therapist and esthetician at %(spa)s holds a current state licence, and we keep licence "
                "numbers and renewal dates on file. The team completes continuing education every year, including "
                "specific training for the clients we see most from medical practices: prenatal, oncology and "
                "post-procedure skin. Each practitioner's credentials are listed in our catalog, and I can leave "
                "you a copy with names, credentials and the issuing boards."
            ),
        ),
        (
            gettext_lazy("We only refer patients to licensed medical providers."),
            gettext_lazy(
                "That is the right standard for medical care, and we don't diagnose or treat medical conditions. "
                "What we offer is complementary care, delivered by licensed professionals under written "
                "protocols: a health intake before every first treatment, the contraindications we screen for, "
                "and when we send a client back to their physician. We work alongside your plan of care, never "
                "in place of it, and I'm glad to share those protocols for your review."
            ),
        ),
        (
            gettext_lazy("Who would actually be treating my patients?"),
            gettext_lazy(
                "We can tell you by name. Referred patients are matched to a practitioner whose training fits "
                "their needs: a certified prenatal massage therapist for pregnant patients, an oncology-trained "
                "therapist for patients in or after treatment. The credentials are in our catalog, and your "
                "office is welcome to meet the team or visit %(spa)s before referring anyone."
            ),
        ),
    ],
    ObjectionCategory.SAFETY: [
        (
            gettext_lazy("I'm worried about contraindications for my patients."),
            gettext_lazy(
                "So are we. Every new client completes a health intake covering conditions, medications, recent "
                "procedures and allergies, and the practitioner reviews it with them before treatment. Where a "
                "contraindication exists we adapt or decline the service, and when in doubt we ask the client to "
                "check with you first. Any precautions you send us (areas to avoid, pressure limits, products to "
                "skip) go on the client's record and are followed at every visit."
            ),
        ),
        (
            gettext_lazy("Is massage safe for my pregnant patients?"),
            gettext_lazy(
                "Our prenatal massage follows pregnancy-safe protocols: certified prenatal therapists, side-lying "
                "positioning with proper support, pregnancy-safe products only, and techniques that respect the "
                "usual precautions. For a high-risk pregnancy we ask for your clearance first and follow any "
                "restrictions you set. I'd be happy to walk you or your nurses through the protocol."
            ),
        ),
        (
            gettext_lazy("How will I hear about it if something comes up during a treatment?"),
            gettext_lazy(
                "We close the loop. If a practitioner notices something that may need medical attention, such as "
                "a skin change, a reaction or swelling, we advise the client to contact you and, with their "
                "permission, let your office know. When the patient has authorized it, we also send a short "
                "outcome report after their sessions."
            ),
        ),
    ],
    ObjectionCategory.TOO_BUSY: [
        (
            gettext_lazy("We're too busy to take on anything new."),
            gettext_lazy(
                "I understand, and this shouldn't add to your day. All we ask is a 15-minute lunch presentation, "
                "with lunch on us, to introduce the team and answer your staff's questions. After that, referring "
                "takes none of your time: a referral pad at the front desk, with a QR code so the patient can "
                "contact us themselves."
            ),
        ),
        (
            gettext_lazy("My staff don't have time for extra paperwork."),
            gettext_lazy(
                "There isn't any. Patients can refer themselves with the QR code on the pad, and when your office "
                "prefers to send a referral, the online portal form takes about a minute. We handle the calls, "
                "the scheduling and the follow-up."
            ),
        ),
        (
            gettext_lazy("Send me something and I'll look at it later."),
            gettext_lazy(
                "Of course. I'll leave a one-page summary of what we offer your patients and how to refer, and a "
                "pad of referral slips for the front desk. May I call in a week or two, at a time that suits you, "
                "to answer any questions?"
            ),
        ),
    ],
    ObjectionCategory.VALUE_UNCLEAR: [
        (
            gettext_lazy("What's in it for my patients?"),
            gettext_lazy(
                "Relief and continuity between visits, from practitioners who know and follow your precautions. "
                "Patients referred by their physician tell us they value that trust, and our patient satisfaction "
                "reflects it. When a patient asks you for a recommendation, you have a calm, well-informed place "
                "to send them."
            ),
        ),
        (
            gettext_lazy("How would I know it's helping?"),
            gettext_lazy(
                "With the patient's written permission, we send your office a one-page outcome report after their "
                "sessions: the services provided, how they responded and anything worth your attention. Without "
                "that permission we share nothing. Over time you see how referred patients are doing without "
                "having to ask."
            ),
        ),
        (
            gettext_lazy("My patients don't ask for this."),
            gettext_lazy(
                "Many are already looking on their own, for post-procedure skin care, prenatal comfort or stress "
                "relief, and find someone at random. A referral gives them a provider who follows your "
                "precautions. Our pad at the front desk simply gives your team an answer when the question "
                "comes up."
            ),
        ),
    ],
    ObjectionCategory.ETHICS_GIFTS: [
        (
            gettext_lazy("We don't accept gifts or payments for referrals."),
            gettext_lazy(
                "Nor would we offer them. We never pay for referrals or give anything in exchange for them: no "
                "fees, no commissions, no gift cards. A referral should be made only because it is right for "
                "the patient. Anything modest we offer your office, such as lunch during a presentation, is "
                "recorded and never tied to whether or how often you refer."
            ),
        ),
        (
            gettext_lazy("Couldn't this be a Stark or anti-kickback problem?"),
            gettext_lazy(
                "We take those rules seriously. We record every non-monetary item given to each clinician and "
                "stay within the yearly non-monetary compensation limit; we never give cash or cash equivalents; "
                "and nothing we provide depends on, or varies with, referrals. If your practice's own policy is "
                "stricter, we follow it."
            ),
        ),
        (
            gettext_lazy("Our compliance office has to approve any relationship."),
            gettext_lazy(
                "We'd welcome that. I can send a short description of how referrals work with %(spa)s, our gift "
                "and hospitality policy, and how we handle patient information and consent, so your compliance "
                "team has what it needs for the review."
            ),
        ),
    ],
    ObjectionCategory.OTHER: [
        (
            gettext_lazy("We already refer to another spa."),
            gettext_lazy(
                "That's good to hear: it means you see the value for your patients. We're not asking you to "
                "switch. Many practices like a second option, especially for services where availability or "
                "specialized training matters, such as prenatal or oncology massage."
            ),
        ),
        (
            gettext_lazy("Our patients can't afford extra services."),
            gettext_lazy(
                "Cost matters, and we're clear about it up front: prices are published, referred patients have "
                "an offer on their first visit, and we suggest shorter or less frequent sessions when budget is a "
                "concern. We never push packages on referred patients."
            ),
        ),
    ],
}


# --- the library ------------------------------------------------------------------------------------


def _categories_present(spa):
    return set(ObjectionResponse.objects.filter(spa=spa).order_by().values_list("category", flat=True).distinct())


def objection_library_ensure(*, spa):
    """Seed the default responses of every category the spa has never had. Returns how many were created.

    One query when the library is complete (the usual case); the seeding itself runs under a lock on the
    spa's row so two first visits at once seed once.
    """
    if _categories_present(spa) >= set(DEFAULT_RESPONSES):
        return 0
    return _seed_missing_categories(spa)


@transaction.atomic
def _seed_missing_categories(spa):
    Spa.objects.select_for_update().filter(pk=spa.pk).first()
    present = _categories_present(spa)
    seeded_before = set()
    for detail in AuditEvent.objects.filter(spa=spa, action=SEEDED_ACTION).values_list("detail", flat=True):
        seeded_before.update(detail.get("categories", []))
    missing = [category for category in DEFAULT_RESPONSES if category not in present | seeded_before]
    if not missing:
        return 0
    rows = [
        ObjectionResponse(
            spa=spa, category=category, objection=str(objection), response=str(answer) % {"spa": spa.name}
        )
        for category in missing
        for objection, answer in DEFAULT_RESPONSES[category]
    ]
    for row in rows:
        row.full_clean()
    ObjectionResponse.objects.bulk_create(rows)
    audit_record(
        spa=spa,
        action=SEEDED_ACTION,
        actor_label="system",
        object_type="outreach.objectionresponse",
        detail={"categories": [str(category) for category in missing], "count": len(rows)},
    )
    return len(rows)


# Written only by their own services: a stale edit form must not undo an archive, and the spa never moves.
_RESPONSE_FIELDS = ["category", "objection", "response"]


@transaction.atomic
def objection_response_save(*, spa, response, actor):
    """Create or edit a prepared response of ``spa`` (category, what they say, how to answer)."""
    creating = response.pk is None
    if not creating and response.spa_id != spa.pk:
        raise ValidationError(_("Unknown response."))
    response.spa = spa
    response.full_clean()
    if creating:
        response.save()
    else:
        response.save(update_fields=[*_RESPONSE_FIELDS, "updated_at"])
    audit_record(
        spa=spa,
        action=f"objection_response.{'created' if creating else 'updated'}",
        actor=actor,
        obj=response,
        detail={"category": response.category},
    )
    return response


@transaction.atomic
def objection_response_archive(*, response, actor):
    """Take a response out of the library; objections logged with it keep it."""
    updated = ObjectionResponse.objects.filter(pk=response.pk, archived_at=None).update(archived_at=timezone.now())
    if updated:
        response.refresh_from_db(fields=["archived_at"])
        audit_record(spa=response.spa, action="objection_response.archived", actor=actor, obj=response)
    return response


@transaction.atomic
def objection_response_restore(*, response, actor):
    """Put an archived response back in the library."""
    updated = ObjectionResponse.objects.filter(pk=response.pk, archived_at__isnull=False).update(archived_at=None)
    if updated:
        response.refresh_from_db(fields=["archived_at"])
        audit_record(spa=response.spa, action="objection_response.restored", actor=actor, obj=response)
    return response


# --- the log ----------------------------------------------------------------------------------------


@transaction.atomic
def objection_log_create(
    *,
    spa,
    practice,
    category,
    outcome,
    raised_on,
    actor,
    raised="",
    response=None,
    notes="",
    touchpoint=None,
):
    """Record an objection raised at a practice, the prepared response used (if any) and how it went."""
    if practice.spa_id != spa.pk:
        raise ValidationError({"practice": _("Unknown practice.")})
    if response is not None:
        if response.spa_id != spa.pk:
            raise ValidationError({"response": _("Unknown response.")})
        if response.archived_at is not None:
            raise ValidationError({"response": _("This response is archived; choose one from the library.")})
        if response.category != category:
            raise ValidationError(
                {
                    "response": _("Choose a response from the “%(category)s” category.")
                    % {"category": dict(ObjectionCategory.choices).get(category, category)}
                }
            )
    if touchpoint is not None and (touchpoint.spa_id != spa.pk or touchpoint.practice_id != practice.pk):
        raise ValidationError({"touchpoint": _("Choose a touchpoint with this practice.")})
    if raised_on > spa_today(spa):
        raise ValidationError(
            {"raised_on": _("An objection is logged once it has been raised: pick today or earlier.")}
        )
    log = ObjectionLog(
        spa=spa,
        practice=practice,
        category=category,
        raised=raised,
        response=response,
        outcome=outcome,
        notes=notes,
        raised_on=raised_on,
        touchpoint=touchpoint,
        logged_by=actor if actor is not None and actor.is_authenticated else None,
    )
    log.full_clean(exclude=["logged_by"])  # set here, and empty for a log made by the system
    log.save()
    audit_record(
        spa=spa,
        action="objection.logged",
        actor=actor,
        obj=log,
        detail={"category": category, "outcome": outcome, "practice": str(practice.public_id)},
    )
    return log


@transaction.atomic
def objection_log_delete(*, log, actor):
    """Remove an objection logged by mistake."""
    audit_record(
        spa=log.spa,
        action="objection.deleted",
        actor=actor,
        obj=log,
        detail={"category": log.category, "practice": str(log.practice.public_id)},
    )
    log.delete()


# --- the summary ------------------------------------------------------------------------------------
