"""REST API input and output serializers. Every field read or written is listed here by name.

Input is strict: unknown fields, wrong JSON types (a number where a string belongs, "yes" for a
boolean) and overlong strings are refused with a message naming the field, never coerced.
"""

import datetime
from collections.abc import Mapping

from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from infra.phones import PhoneNumberSerializerField
from infra.text import single_line
from partners.models import Clinician
from spas.catalog import active_items
from spas.models import Service, Specialty

from ..models import Channel, ContactMethod, ReferralEvent, Status, Urgency, reason_choices

MAX_SERVICES = 20
UNKNOWN_FIELDS_REPORTED = 20


class StrictCharField(serializers.CharField):
    """A JSON string and nothing else (DRF would turn 42 into "42")."""

    default_error_messages = {"invalid": gettext_lazy("Must be a string.")}

    def __init__(self, *, single_line_only=False, **kwargs):
        super().__init__(**kwargs)
        if single_line_only:
            self.validators.append(single_line)

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


class StrictEmailField(serializers.EmailField):
    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


class StrictBooleanField(serializers.BooleanField):
    """JSON true or false only (DRF would accept "yes", "on", 1)."""

    default_error_messages = {"invalid": gettext_lazy("Must be true or false.")}

    def to_internal_value(self, data):
        if not isinstance(data, bool):
            self.fail("invalid")
        return data


class StrictUUIDField(serializers.UUIDField):
    """A UUID written as a string (DRF would read an integer as UUID(int=…))."""

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid", value=data)
        return super().to_internal_value(data)


class StrictChoiceField(serializers.ChoiceField):
    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid_choice", input=data)
        return super().to_internal_value(data)


class RejectUnknownFieldsMixin:
    """Refuse fields the serializer does not declare (a typo must not be silently dropped)."""

    def to_internal_value(self, data):
        if isinstance(data, Mapping):
            unknown = sorted(str(name)[:100] for name in data if name not in self.fields)
            if unknown:
                raise serializers.ValidationError(
                    {name: [_("Unknown field.")] for name in unknown[:UNKNOWN_FIELDS_REPORTED]}
                )
        return super().to_internal_value(data)


class ReferralCreateInputSerializer(RejectUnknownFieldsMixin, serializers.Serializer):
    """A referral posted by a practice's system. The practice is the API key's; the spa is the key's spa."""

    # The view passes the key's practice as context["practice"].

    patient_first_name = StrictCharField(max_length=80, single_line_only=True)
    patient_last_name = StrictCharField(max_length=80, single_line_only=True)
    patient_phone = PhoneNumberSerializerField(
        allow_blank=True,
        default="",
        help_text=(
            'Phone or email (at least one) is required. A number valid in the spa\'s country ("(617) 555-0123") '
            'or with its country code ("+44 20 7946 0958"); an extension may follow ("x12"). '
            'Stored in E.164 ("+16175550123;ext=12").'
        ),
    )
    patient_email = StrictEmailField(
        max_length=254, allow_blank=True, default="", help_text="Phone or email (at least one) is required."
    )
    preferred_contact_method = StrictChoiceField(choices=ContactMethod.choices, default=ContactMethod.PHONE)
    preferred_contact_time = StrictCharField(max_length=80, allow_blank=True, default="", single_line_only=True)
    patient_date_of_birth = serializers.DateField(allow_null=True, default=None)
    reason_category = StrictChoiceField(
        choices=reason_choices(),
        default="other",
        help_text="One of the reasons for the practice's specialty, or “other”.",
    )
    reason_text = StrictCharField(max_length=2000, allow_blank=True, default="")
    precautions = StrictCharField(max_length=2000, allow_blank=True, default="")
    urgency = StrictChoiceField(choices=Urgency.choices, default=Urgency.ROUTINE)
    clinician = StrictUUIDField(
        allow_null=True, default=None, help_text="The referring clinician's id; must work at the key's practice."
    )
    services = serializers.ListField(
        child=StrictUUIDField(),
        max_length=MAX_SERVICES,
        default=list,
        help_text="Ids of the spa's active services (GET /api/v1/services/) recommended for the patient.",
    )
    patient_consented_to_contact = StrictBooleanField(
        help_text=(
            "Your office attests that the patient agreed to be contacted by the spa. Must be true: "
            "referrals without the patient's agreement are refused."
        )
    )

    @property
    def practice(self):
        return self.context["practice"]

    def validate_patient_date_of_birth(self, value):
        if value is not None and not (datetime.date(1900, 1, 1) <= value <= timezone.localdate()):
            raise serializers.ValidationError(_("Enter a date of birth between 1900 and today."))
        return value

    def validate_reason_category(self, value):
        allowed = [code for code, _label in reason_choices(self.practice.specialty)]
        if value not in allowed:
            raise serializers.ValidationError(
                _("This reason is not offered for %(specialty)s referrals. Choose one of: %(allowed)s.")
                % {"specialty": self.practice.get_specialty_display(), "allowed": ", ".join(allowed)}
            )
        return value

    def validate_clinician(self, value):
        if value is None:
            return None
        clinician = Clinician.objects.filter(spa=self.practice.spa, practice=self.practice, public_id=value).first()
        if clinician is None:
            raise serializers.ValidationError(_("No clinician with this id works at your practice."))
        return clinician

    def validate_services(self, value):
        wanted = list(dict.fromkeys(value))
        found = {
            service.public_id: service
            for service in active_items(Service, spa=self.practice.spa).filter(public_id__in=wanted)
        }
        missing = [str(public_id) for public_id in wanted if public_id not in found]
        if missing:
            raise serializers.ValidationError(
                _("Not an active service of this spa: %(ids)s. See GET /api/v1/services/.")
                % {"ids": ", ".join(missing)}
            )
        return [found[public_id] for public_id in wanted]

    def validate_patient_consented_to_contact(self, value):
        if value is not True:
            raise serializers.ValidationError(
                _("The patient must agree to be contacted by the spa before you refer them.")
            )
        return value

    def validate(self, attrs):
        if not (attrs.get("patient_phone") or attrs.get("patient_email")):
            message = _("Give a phone number or an email so the spa can reach the patient.")
            raise serializers.ValidationError({"patient_phone": [message], "patient_email": [message]})
        return attrs


# --- Output ------------------------------------------------------------------------------------


class PracticeOutputSerializer(serializers.Serializer):
    id = serializers.UUIDField(source="public_id")
    name = serializers.CharField()


class TimelineEntryOutputSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(
        choices=[(ReferralEvent.Kind.RECEIVED, "Received"), (ReferralEvent.Kind.STATUS, "Status change")]
    )
    from_status = serializers.CharField(help_text="Empty for the first entry.")
    status = serializers.ChoiceField(source="to_status", choices=Status.choices)
    at = serializers.DateTimeField(source="created_at")


class ReferralOutputSerializer(serializers.Serializer):
    """Where a referral stands: status and its timeline. No patient details, no spa-internal notes."""

    id = serializers.UUIDField(source="public_id")
    status = serializers.ChoiceField(choices=Status.choices)
    status_label = serializers.CharField(source="get_status_display")
    channel = serializers.ChoiceField(choices=Channel.choices)
    practice = PracticeOutputSerializer()
    clinician = serializers.UUIDField(source="clinician.public_id", allow_null=True)
    services = serializers.SerializerMethodField()
    received_at = serializers.DateTimeField()
    first_contact_due_at = serializers.DateTimeField()
    closed_at = serializers.DateTimeField(allow_null=True)
    timeline = serializers.SerializerMethodField()

    @extend_schema_field(serializers.ListField(child=serializers.UUIDField()))
    def get_services(self, referral):
        return [str(row.service.public_id) for row in referral.recommended.all()]

    @extend_schema_field(TimelineEntryOutputSerializer(many=True))
    def get_timeline(self, referral):
        # Status changes only: contact attempts, assignments and notes are the spa's own business.
        entries = [event for event in referral.events.all() if event.visible_to_practice]
        return TimelineEntryOutputSerializer(entries, many=True).data


class ServiceOutputSerializer(serializers.Serializer):
    id = serializers.UUIDField(source="public_id")
    name = serializers.CharField()
    category = serializers.ChoiceField(choices=Service.Category.choices)
    description = serializers.CharField()
    duration_minutes = serializers.IntegerField()
    price = serializers.DecimalField(max_digits=8, decimal_places=2)
    pregnancy_safe = serializers.BooleanField()
    specialties = serializers.ListField(
        child=serializers.ChoiceField(choices=Specialty.choices),
        help_text="Specialties whose patients this service suits.",
    )


# --- Error bodies (for the OpenAPI document) ---------------------------------------------------


class ValidationErrorOutputSerializer(serializers.Serializer):
    errors = serializers.DictField(
        child=serializers.ListField(child=serializers.CharField()),
        help_text="Messages per field name; “non_field_errors” for the request as a whole.",
    )


class DetailErrorOutputSerializer(serializers.Serializer):
    detail = serializers.CharField()
