"""CSV import of practices and their clinicians: read, map columns, check every row, commit all or nothing.

One row describes a practice and, optionally, one of its clinicians. Rows naming the same
practice (same name and city) become one practice with several clinicians. Nothing is written
until every row is valid; the commit re-checks everything inside one transaction.
"""

import codecs
import csv
import io
import re
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django_scopes import scopes_disabled

from infra.audit import audit_record
from infra.phones import normalize_phone, phone_key
from spas import dependents
from spas.models import Membership, Specialty

from .duplicates import DuplicateIndex
from .models import (
    Clinician,
    Practice,
    PracticeImport,
    PracticeTag,
    ReferralCode,
    Stage,
    StageChange,
    Tag,
    generate_referral_code,
)
from .services import parse_tags

MAX_UPLOAD_BYTES = 10 * 1024 * 1024
MAX_ROWS = 20_000
MAX_COLUMNS = 200
MAX_ERRORS_SHOWN = 500
CODE_LOOKUP_CHUNK = 900

# (target, label, required). The order is the order of the mapping form.
TARGETS = [
    ("name", gettext_lazy("Practice name"), True),
    ("specialty", gettext_lazy("Specialty"), True),
    ("address", gettext_lazy("Address"), False),
    ("city", gettext_lazy("City"), False),
    ("phone", gettext_lazy("Phone"), False),
    ("fax", gettext_lazy("Fax"), False),
    ("website", gettext_lazy("Website"), False),
    ("npi", gettext_lazy("Practice NPI"), False),
    ("size", gettext_lazy("Size"), False),
    ("source", gettext_lazy("How identified"), False),
    ("introduced_by", gettext_lazy("Introduced by"), False),
    ("stage", gettext_lazy("Pipeline stage"), False),
    ("tags", gettext_lazy("Tags"), False),
    ("owner_email", gettext_lazy("Owner (team member's email)"), False),
    ("clinician_first_name", gettext_lazy("Clinician first name"), False),
    ("clinician_last_name", gettext_lazy("Clinician last name"), False),
    ("clinician_credentials", gettext_lazy("Clinician credentials"), False),
    ("clinician_email", gettext_lazy("Clinician email"), False),
    ("clinician_phone", gettext_lazy("Clinician phone"), False),
    ("clinician_npi", gettext_lazy("Clinician NPI"), False),
]
TARGET_NAMES = [name for name, _label, _required in TARGETS]
CHOICE_TARGETS = {
    "specialty": Specialty.choices,
    "stage": Stage.choices,
    "size": Practice.Size.choices,
    "source": Practice.Source.choices,
}
PRACTICE_TEXT_TARGETS = ["name", "address", "city", "phone", "fax", "website", "npi", "introduced_by"]
# Read in the spa's country and stored in E.164, like the phones typed into the forms.
PHONE_TARGETS = ["phone", "fax", "clinician_phone"]
CLINICIAN_TARGETS = {
    "clinician_first_name": "first_name",
    "clinician_last_name": "last_name",
    "clinician_credentials": "credentials",
    "clinician_email": "email",
    "clinician_phone": "phone",
    "clinician_npi": "npi",
}


def _key(text):
    return re.sub(r"[^a-z0-9]", "", (text or "").lower())


def _choice_lookup(choices):
    lookup = {}
    for value, label in choices:
        lookup[_key(value)] = value
        lookup[_key(str(label))] = value
    return lookup


CHOICE_LOOKUPS = {target: _choice_lookup(choices) for target, choices in CHOICE_TARGETS.items()}
# Headers people actually write, so the first mapping is usually right.
HEADER_SYNONYMS = {
    "practice": "name",
    "practicename": "name",
    "name": "name",
    "clinic": "name",
    "specialty": "specialty",
    "speciality": "specialty",
    "address": "address",
    "street": "address",
    "city": "city",
    "town": "city",
    "phone": "phone",
    "telephone": "phone",
    "fax": "fax",
    "website": "website",
    "url": "website",
    "web": "website",
    "npi": "npi",
    "practicenpi": "npi",
    "size": "size",
    "source": "source",
    "howidentified": "source",
    "introducedby": "introduced_by",
    "stage": "stage",
    "pipelinestage": "stage",
    "tags": "tags",
    "owner": "owner_email",
    "owneremail": "owner_email",
    "clinicianfirstname": "clinician_first_name",
    "firstname": "clinician_first_name",
    "clinicianlastname": "clinician_last_name",
    "lastname": "clinician_last_name",
    "cliniciancredentials": "clinician_credentials",
    "credentials": "clinician_credentials",
    "clinicianemail": "clinician_email",
    "email": "clinician_email",
    "clinicianphone": "clinician_phone",
    "cliniciannpi": "clinician_npi",
}


class ImportFileError(Exception):
    """The upload cannot be read as a CSV at all."""


# Files people upload by mistake, recognised by their first bytes.
BINARY_SIGNATURES = [
    (
        b"PK\x03\x04",
        gettext_lazy(
            "This is an Excel workbook (or another zip file), not a CSV. In Excel choose File → Save as → CSV."
        ),
    ),
    (
        b"\xd0\xcf\x11\xe0",
        gettext_lazy("This is an old Excel workbook (.xls), not a CSV. In Excel choose File → Save as → CSV."),
    ),
    (b"%PDF", gettext_lazy("This is a PDF, not a CSV. Export the list from your spreadsheet as CSV.")),
]
DELIMITERS = ",;\t"
# The defensive quote our own export puts before = + - @ tab CR: dropped on import so a file round-trips.
EXPORT_QUOTED_CELL = re.compile(r"^'(?=[=+\-@\t\r])")
DATA_LOOKING_CELL = re.compile(r"@|^https?://|^www\.|^[\d\s()+./-]{5,}$", re.IGNORECASE)


def _decode(raw_bytes):
    for signature, message in BINARY_SIGNATURES:
        if raw_bytes.startswith(signature):
            raise ImportFileError(str(message))
    if raw_bytes.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        encodings = ("utf-16",)  # Excel's "Unicode text"
    else:
        encodings = ("utf-8-sig", "cp1252")
    for encoding in encodings:
        try:
            text = raw_bytes.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        raise ImportFileError(_("The file is not text. Save it from your spreadsheet as CSV."))
    if "\x00" in text:
        raise ImportFileError(_("The file is not a CSV. Save it from your spreadsheet as CSV."))
    return text


def read_csv(raw_bytes):
    """Decode an upload and check it is a CSV we can map: returns (text, header).

    Raises ImportFileError with a reason a person can act on.
    """
    if len(raw_bytes) > MAX_UPLOAD_BYTES:
        raise ImportFileError(_("The file is larger than 10 MB. Split it and import the parts."))
    text = _decode(raw_bytes)
    header, records = parse_csv_records(text)
    if not header or not any(header):
        raise ImportFileError(_("The file is empty or has no header row."))
    if len(header) < 2:
        raise ImportFileError(
            _(
                "We found only one column. Separate the columns with commas, semicolons or tabs "
                "(in your spreadsheet: File → Save as → CSV)."
            )
        )
    if len(header) > MAX_COLUMNS:
        raise ImportFileError(
            _("The file has %(count)s columns; we read at most %(max)s. Remove the columns you do not need.")
            % {"count": len(header), "max": MAX_COLUMNS}
        )
    if not guess_mapping(header) and any(DATA_LOOKING_CELL.search(title) or _is_choice(title) for title in header):
        raise ImportFileError(
            _(
                "The first row should hold the column names (Practice name, Specialty, …), "
                "but it looks like a practice. Add a header row."
            )
        )
    if not records:
        raise ImportFileError(_("The file has a header row but no practices."))
    if len(records) > MAX_ROWS:
        raise ImportFileError(
            _("The file has more than %(max)s rows. Split it and import the parts.") % {"max": MAX_ROWS}
        )
    return text, header


def _is_choice(title):
    return bool(_key(title)) and _key(title) in CHOICE_LOOKUPS["specialty"]


def parse_csv_records(text):
    """(header, [(line number, cells)]) with blank rows left out.

    The line number is the row number a spreadsheet shows (blank rows counted), so the errors
    point at the right row even when a cell holds a line break.
    """
    delimiter = _delimiter(text)
    header = None
    records = []
    try:
        for line_number, row in enumerate(csv.reader(io.StringIO(text), delimiter=delimiter), start=1):
            cells = [EXPORT_QUOTED_CELL.sub("", cell) for cell in row]
            if not any(cell.strip() for cell in cells):
                continue
            if header is None:
                header = [cell.strip() for cell in cells]
            else:
                records.append((line_number, cells))
    except csv.Error as error:
        raise ImportFileError(_("The file could not be read as CSV: %(error)s") % {"error": error}) from error
    return header or [], records


def _delimiter(text):
    """The delimiter that splits the header row into the most columns.

    Only the delimiter is guessed: csv.Sniffer also guesses the quote character and takes the
    apostrophe for one in files like our own export ('=…), which scrambles every row.
    """
    sample = text[:65536]
    best, best_columns = ",", 0
    for delimiter in DELIMITERS:
        try:
            first = next((row for row in csv.reader(io.StringIO(sample), delimiter=delimiter) if any(row)), [])
        except csv.Error:
            continue
        if len(first) > best_columns:
            best, best_columns = delimiter, len(first)
    return best


def parse_csv_text(text):
    """(header, rows) of the file, blank rows left out."""
    header, records = parse_csv_records(text)
    return header, [cells for _line_number, cells in records]


def guess_mapping(header):
    """{target: column index} from the header names."""
    mapping = {}
    for index, title in enumerate(header):
        target = HEADER_SYNONYMS.get(_key(title))
        if target and target not in mapping:
            mapping[target] = index
    return mapping


@dataclass
class PracticeDraft:
    row_number: int
    fields: dict
    stage: str
    tags: list
    owner_id: int | None
    clinicians: list = field(default_factory=list)
    duplicate_of: list = field(default_factory=list)


@dataclass
class ImportCheck:
    header: list
    row_count: int = 0
    errors: list = field(default_factory=list)  # (row number, message)
    drafts: list = field(default_factory=list)
    warnings: list = field(default_factory=list)  # (row number, message)

    @property
    def ok(self):
        return not self.errors

    @property
    def clinician_count(self):
        return sum(len(draft.clinicians) for draft in self.drafts)


# Spreadsheets often keep an address on two lines of one cell ("12 Elm St" / "Suite 4"); that is one line here.
MULTI_LINE_ADDRESS_TARGETS = {"address"}


def _cell(row, mapping, target):
    index = mapping.get(target)
    if index is None or index >= len(row):
        return ""
    value = row[index].strip()
    if target in MULTI_LINE_ADDRESS_TARGETS:
        value = ", ".join(line.strip() for line in value.splitlines() if line.strip())
    return value


def _validation_messages(error):
    if hasattr(error, "error_dict"):
        return [f"{_field_label(name)}: {' '.join(messages)}" for name, messages in error.message_dict.items()]
    return error.messages


def _field_label(name):
    for target, label, _required in TARGETS:
        if target == name or CLINICIAN_TARGETS.get(target) == name:
            return str(label)
    return name


def check_import(*, spa, text, mapping, skip_duplicates=True):
    """Validate every row against the mapping. Returns an ImportCheck listing each bad row's errors."""
    header, records = parse_csv_records(text)
    check = ImportCheck(header=header, row_count=len(records))
    check.errors.extend((0, message) for message in _unmapped_required_targets(mapping))
    if check.errors:
        return check
    owners = {
        membership.user.email.lower(): membership.user_id
        for membership in Membership.objects.filter(spa=spa).select_related("user")
    }
    existing = DuplicateIndex.for_spa(spa)
    drafts_by_key = {}
    for row_number, row in records:
        # A row's messages are kept in the order its cells are read, so the summary reads left to right.
        row_errors = _extra_cell_errors(row, header)
        values = {target: _cell(row, mapping, target) for target in TARGET_NAMES}
        unknown_choices, choice_errors = _resolve_choices(values)
        row_errors += choice_errors
        row_errors += _normalize_phones(values, spa.country)
        owner_id, owner_errors = _owner_id(values, owners)
        row_errors += owner_errors
        key = (" ".join(values["name"].lower().split()), " ".join(values["city"].lower().split()))
        draft = drafts_by_key.get(key)
        if draft is None:
            draft, practice_errors = _practice_draft(spa, row_number, values, owner_id, unknown_choices, existing)
            row_errors += practice_errors
        row_errors += _add_clinician(spa, draft, values)
        if row_errors:
            check.errors.extend((row_number, message) for message in row_errors)
        elif key not in drafts_by_key:
            drafts_by_key[key] = draft
    _keep_drafts(check, drafts_by_key.values(), skip_duplicates=skip_duplicates)
    return check


def _unmapped_required_targets(mapping):
    """One message per required field no column was mapped to (checked before any row is read)."""
    return [
        _("Choose the column that holds “%(field)s”.") % {"field": label}
        for name, label, required in TARGETS
        if required and name not in mapping
    ]


def _extra_cell_errors(row, header):
    """A row wider than the header (with something in the extra cells) usually hides an unquoted comma."""
    if not any(cell.strip() for cell in row[len(header) :]):
        return []
    return [
        _(
            "This row has %(cells)s cells but the header has %(columns)s. "
            "Is there a comma in a value without quotes around it?"
        )
        % {"cells": len(row), "columns": len(header)}
    ]


def _resolve_choices(values):
    """Replace each choice cell with its stored value, in place. Returns (unknown targets, messages).

    An unknown value is blanked and reported here; the targets are returned so that full_clean does not report
    the same cell again as "cannot be blank"."""
    unknown_choices, errors = [], []
    for target, lookup in CHOICE_LOOKUPS.items():
        if values[target]:
            resolved = lookup.get(_key(values[target]))
            if resolved is None:
                unknown_choices.append(target)
                errors.append(
                    _("%(field)s: “%(value)s” is not one of the choices.")
                    % {"field": _field_label(target), "value": values[target][:60]}
                )
            values[target] = resolved or ""
    return unknown_choices, errors


def _normalize_phones(values, country):
    """Store each phone cell in E.164, in place; a number that does not parse is blanked and reported."""
    errors = []
    for target in PHONE_TARGETS:
        if values[target]:
            try:
                values[target] = normalize_phone(values[target], country)
            except ValidationError as error:
                errors.append(
                    _("%(field)s “%(value)s”: %(message)s")
                    % {"field": _field_label(target), "value": values[target][:40], "message": error.messages[0]}
                )
                values[target] = ""
    return errors


def _owner_id(values, owners):
    """The owner's user id from the row's email (None when blank), and a message when it is not a member."""
    if not values["owner_email"]:
        return None, []
    owner_id = owners.get(values["owner_email"].lower())
    if owner_id is None:
        return None, [_("Owner: %(email)s is not a member of this spa.") % {"email": values["owner_email"][:80]}]
    return owner_id, []


def _practice_draft(spa, row_number, values, owner_id, unknown_choices, existing):
    """The draft of the practice first named on this row, validated as a Practice; returns (draft, messages)."""
    errors = []
    fields = {name: values[name] for name in PRACTICE_TEXT_TARGETS}
    fields.update(specialty=values["specialty"], size=values["size"], source=values["source"])
    practice = Practice(spa=spa, stage=values["stage"] or Stage.PROSPECT, **fields)
    if practice.stage == Stage.DECLINED:
        practice.declined_reason = _("Imported as declined")
    try:
        practice.full_clean(exclude=["spa", "owner", *unknown_choices], validate_unique=False)
    except ValidationError as error:
        errors.extend(_validation_messages(error))
    draft = PracticeDraft(row_number, fields, practice.stage, parse_tags(values["tags"]), owner_id)
    draft.fields["phone_normalized"] = phone_key(fields["phone"], spa.country)  # bulk_create skips save()
    draft.duplicate_of = existing.matches(**{k: fields[k] for k in ("name", "city", "npi", "phone", "website")})
    return draft, errors


def _add_clinician(spa, draft, values):
    """Add the row's clinician (if any cell names one) to the draft, validated as a Clinician; returns messages."""
    clinician_values = {model_field: values[target] for target, model_field in CLINICIAN_TARGETS.items()}
    if not any(clinician_values.values()):
        return []
    errors = []
    clinician = Clinician(spa=spa, specialty=draft.fields["specialty"] or "", **clinician_values)
    try:
        clinician.full_clean(exclude=["spa", "practice"], validate_unique=False)
    except ValidationError as error:
        errors.extend(_validation_messages(error))
    draft.clinicians.append(clinician_values)
    return errors


def _keep_drafts(check, drafts, *, skip_duplicates):
    """Warn about each draft that looks like an existing practice; keep it unless duplicates are skipped."""
    for draft in drafts:
        if draft.duplicate_of:
            match = draft.duplicate_of[0]
            check.warnings.append(
                (
                    draft.row_number,
                    _("%(name)s looks like your existing %(other)s (%(reason)s).")
                    % {"name": draft.fields["name"], "other": match.name, "reason": match.reason},
                )
            )
        if not (skip_duplicates and draft.duplicate_of):
            check.drafts.append(draft)


def _fresh_codes(count):
    """``count`` referral codes that no spa uses yet."""
    codes = set()
    while len(codes) < count:
        batch = list({generate_referral_code() for _ in range(count - len(codes) + 16)} - codes)
        taken = set()
        # Chunked: SQLite caps the number of parameters in one query.
        for start in range(0, len(batch), CODE_LOOKUP_CHUNK):
            with scopes_disabled():  # uniqueness is global: codes resolve without a spa in the URL
                chunk = batch[start : start + CODE_LOOKUP_CHUNK]
                taken.update(ReferralCode.objects.filter(code__in=chunk).values_list("code", flat=True))
        codes.update(set(batch) - taken)
    return list(codes)[:count]


@transaction.atomic
def import_commit(*, practice_import, actor):
    """Create every practice and clinician of the import, or nothing. Returns the ImportCheck."""
    practice_import = PracticeImport.objects.select_for_update().get(pk=practice_import.pk)
    if practice_import.status == PracticeImport.Status.COMMITTED:
        raise ValidationError(_("This file was already imported."))
    spa = practice_import.spa
    check = check_import(
        spa=spa,
        text=practice_import.content,
        mapping=practice_import.mapping,
        skip_duplicates=practice_import.skip_duplicates,
    )
    if not check.ok:
        raise ValidationError(_("Fix the errors in the file before importing."))
    now = timezone.now()
    practices = Practice.objects.bulk_create(
        [
            Practice(
                spa=spa,
                stage=draft.stage,
                owner_id=draft.owner_id,
                stage_changed_at=now,
                declined_reason=_("Imported as declined") if draft.stage == Stage.DECLINED else "",
                **draft.fields,
            )
            for draft in check.drafts
        ],
        batch_size=1000,
    )
    clinicians = []
    for practice, draft in zip(practices, check.drafts, strict=True):
        for values in draft.clinicians:
            clinicians.append(Clinician(spa=spa, practice=practice, specialty=practice.specialty, **values))
    clinicians = Clinician.objects.bulk_create(clinicians, batch_size=1000)
    codes = iter(_fresh_codes(len(practices) + len(clinicians)))
    ReferralCode.objects.bulk_create(
        [ReferralCode(spa=spa, practice=practice, code=next(codes)) for practice in practices]
        + [ReferralCode(spa=spa, practice=c.practice, clinician=c, code=next(codes)) for c in clinicians],
        batch_size=1000,
    )
    StageChange.objects.bulk_create(
        [
            StageChange(
                spa=spa,
                practice=practice,
                from_stage="",
                to_stage=practice.stage,
                changed_by=actor,
                reason=_("Imported from %(file)s") % {"file": practice_import.filename[:200]},
            )
            for practice in practices
        ],
        batch_size=1000,
    )
    _create_tags(spa, practices, check.drafts)
    # Those imported as trial or active partners get their partner health (spas/dependents.py).
    dependents.practices_changed(spa=spa, practices=practices)
    practice_import.status = PracticeImport.Status.COMMITTED
    practice_import.committed_at = now
    practice_import.practices_created = len(practices)
    practice_import.clinicians_created = len(clinicians)
    practice_import.save(update_fields=["status", "committed_at", "practices_created", "clinicians_created"])
    audit_record(
        spa=spa,
        action="practice.imported",
        actor=actor,
        obj=practice_import,
        detail={"practices": len(practices), "clinicians": len(clinicians)},
    )
    return check


def _create_tags(spa, practices, drafts):
    names = {name for draft in drafts for name in draft.tags}
    if not names:
        return
    existing = {tag.name: tag for tag in Tag.objects.filter(spa=spa, name__in=names)}
    Tag.objects.bulk_create([Tag(spa=spa, name=name) for name in names - set(existing)], ignore_conflicts=True)
    tags = {tag.name: tag for tag in Tag.objects.filter(spa=spa, name__in=names)}
    PracticeTag.objects.bulk_create(
        [
            PracticeTag(spa=spa, practice=practice, tag=tags[name])
            for practice, draft in zip(practices, drafts, strict=True)
            for name in draft.tags
        ],
        batch_size=1000,
    )
