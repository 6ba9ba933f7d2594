"""Writes for FHIR: the referral a ServiceRequest asks for, made the way the REST API makes one."""

from django.db import transaction
from django.utils.translation import gettext as _

from infra.audit import audit_record
from partners.models import Clinician

from ..api.serializers import ReferralCreateInputSerializer
from ..api.services import api_key_label, referral_create_with_key
from ..models import ReferralEvent
from ..services import referral_event_record
from .mapping import CONSENT_EXTENSION_URL, expression_for_field, referral_input
from .wire import FhirError, Issue

CONSENT_FIELD = "patient_consented_to_contact"


def fhir_label(api_key):
    """How a FHIR sender is named on its referrals and audit events: its key, and that FHIR was the way in."""
    return f"{api_key_label(api_key)} · FHIR R4"


def service_request_create(*, api_key, referred):
    """Create the referral a ServiceRequest (with its Patient and Practitioner, ``resources.Referred``) asks for.

    The requester's NPI picks the practice's clinician; an NPI (or a name) that matches none of them still makes
    the referral — from the practice, which the key already names — and leaves the spa a note saying who the
    clinic named, so staff can add the clinician. Refusals are FhirErrors (422) naming the FHIR element.
    """
    practice = api_key.practice
    given = referral_input(referred)
    clinician = _clinician_with_npi(practice, given.npi)
    serializer = ReferralCreateInputSerializer(
        data={**given.data, "clinician": str(clinician.public_id) if clinician else None},
        context={"practice": practice, "phone_region": api_key.spa.country},
    )
    if not serializer.is_valid():
        raise FhirError(_issues_of(serializer.errors), status_code=422)
    label = fhir_label(api_key)
    with transaction.atomic():
        referral = referral_create_with_key(api_key=api_key, data=serializer.validated_data, label=label)
        named_someone_else = (given.npi and given.npi != practice.npi) or (not given.npi and given.requester_name)
        if clinician is None and named_someone_else:
            _note_unknown_requester(referral, given=given, label=label)
    return referral


def _clinician_with_npi(practice, npi):
    if not npi:
        return None
    return Clinician.objects.filter(spa=practice.spa, practice=practice, npi=npi).order_by("pk").first()


def _issues_of(errors):
    issues = []
    for field, messages in errors.items():
        if field == CONSENT_FIELD:  # the serializer's words name a JSON field; say what FHIR sends instead
            messages = [
                _(
                    "The referring office must attest that the patient agreed to be contacted by the spa: add the "
                    "extension %(url)s with valueBoolean true."
                )
                % {"url": CONSENT_EXTENSION_URL}
            ]
        issues += [
            Issue(code="business-rule", diagnostics=str(message), expression=expression_for_field(field))
            for message in messages
        ]
    return issues


def _note_unknown_requester(referral, *, given, label):
    """A spa-only timeline note (practices never see notes): the clinic named a clinician the spa does not know."""
    who = " ".join(part for part in (given.requester_name, f"(NPI {given.npi})" if given.npi else "") if part)
    note = _(
        "Sent through FHIR by %(who)s, who is not one of %(practice)s's clinicians here. Add them to the practice "
        "(with their NPI) so their next referrals are credited to them."
    ) % {"who": who, "practice": referral.practice.name}
    referral_event_record(referral, None, kind=ReferralEvent.Kind.NOTE, note=note[:2000], actor_label=label)
    audit_record(
        spa=referral.spa,
        action="referral.note_added",
        actor_label=label,
        obj=referral,
        detail={"requester_npi": given.npi},
    )
