"""Outreach models: the letter templates a spa edits, and the batches of letters it prints."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from infra.models import GeneratedDocument
from infra.tenant_models import CreatedAt, PublicId, TenantModel
from infra.text import single_line
from spas.models import Specialty

from ..letters.placeholders import validate_placeholders


class LetterTemplate(TenantModel, PublicId, CreatedAt):
    """A letter the spa writes once; ``{placeholders}`` are filled in per practice (outreach.letters.placeholders)."""

    name = models.CharField(_("name"), max_length=120, validators=[single_line])
    body = models.TextField(_("letter"), max_length=10000, validators=[validate_placeholders])
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name", "id"]

    def __str__(self):
        return self.name


class LetterBatch(TenantModel, PublicId, CreatedAt):
    """One letter template sent to many practices: one part per practice plus a combined PDF."""

    template = models.ForeignKey(LetterTemplate, on_delete=models.PROTECT, related_name="batches")
    # Public ids, in the order the letters are printed; a practice deleted later is skipped.
    practice_ids = models.JSONField(default=list)
    document = models.OneToOneField(
        GeneratedDocument, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+")

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = _("letter batches")

    def __str__(self):
        return f"{self.template} ({len(self.practice_ids)})"


class LeaveBehind(TenantModel, PublicId, CreatedAt):
    """The spa's leave-behind for one specialty: the source its one-page documents are made from.

    A row of its own (rather than the Spa) because a document's source must be a tenant row with a
    ``spa`` and a ``public_id``; it is created on first request.
    """

    specialty = models.CharField(_("specialty"), max_length=32, choices=Specialty.choices)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["spa", "specialty"], name="leave_behind_unique_specialty")]

    def __str__(self):
        return self.get_specialty_display()
