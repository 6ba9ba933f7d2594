"""Outreach models: the letter templates a spa edits, and the batches of letters it prints."""

import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django_scopes import ScopedManager

from infra.text import single_line
from spas.models import GeneratedDocument, Spa, Specialty

from ..letters.placeholders import validate_placeholders


class LetterTemplate(models.Model):
    """A letter the spa writes once; ``{placeholders}`` are filled in per practice (outreach.letters.placeholders)."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    spa = models.ForeignKey(Spa, on_delete=models.CASCADE, related_name="+")
    name = models.CharField(_("name"), max_length=120, validators=[single_line])
    body = models.TextField(_("letter"), max_length=10000, validators=[validate_placeholders])
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    objects = ScopedManager(spa="spa")

    class Meta:
        ordering = ["name", "id"]

    def __str__(self):
        return self.name


class LetterBatch(models.Model):
    """One letter template sent to many practices: one part per practice plus a combined PDF."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    spa = models.ForeignKey(Spa, on_delete=models.CASCADE, related_name="+")
    template = models.ForeignKey(LetterTemplate, on_delete=models.PROTECT, related_name="batches")
    # Public ids, in the order the letters are printed; a practice deleted later is skipped.
    practice_ids = models.JSONField(default=list)
    document = models.OneToOneField(
        GeneratedDocument, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    objects = ScopedManager(spa="spa")

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = _("letter batches")

    def __str__(self):
        return f"{self.template} ({len(self.practice_ids)})"


class LeaveBehind(models.Model):
    """The spa's leave-behind for one specialty: the source its one-page documents are made from.

    A row of its own (rather than the Spa) because a document's source must be a tenant row with a
    ``spa`` and a ``public_id``; it is created on first request.
    """

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    spa = models.ForeignKey(Spa, on_delete=models.CASCADE, related_name="+")
    specialty = models.CharField(_("specialty"), max_length=32, choices=Specialty.choices)
    created_at = models.DateTimeField(default=timezone.now)

    objects = ScopedManager(spa="spa")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["spa", "specialty"], name="leave_behind_unique_specialty")]

    def __str__(self):
        return self.get_specialty_display()
