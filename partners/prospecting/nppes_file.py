"""Loading the monthly NPPES data file (``npidata_pfile_*.csv``) into ``NppesProvider``.

The full file has millions of rows and over 300 columns; only the few a prospect search needs are kept. The file
is read as a stream (never whole into memory), filtered row by row, and on PostgreSQL fed to ``COPY`` through
psycopg2's ``copy_expert``, the fastest way in. A load replaces the table in one transaction: searches see the
previous month's data until the new one commits, and a file that turns out malformed half-way leaves the old data.
On SQLite (``make run``) the same rows go in with batched ``bulk_create``.
"""

import csv
import io

import psycopg2
from django.db import connection, transaction
from django.utils.translation import gettext as _

from infra.geo import zip5

from ..models import NppesProvider, npi_is_valid

TAXONOMY_SLOTS = 15
BULK_BATCH = 5000

# Our column → the file's header name (the names as CMS publishes them).
COLUMNS = {
    "npi": "NPI",
    "entity_type": "Entity Type Code",
    "organization_name": "Provider Organization Name (Legal Business Name)",
    "last_name": "Provider Last Name (Legal Name)",
    "first_name": "Provider First Name",
    "credential": "Provider Credential Text",
    "address_1": "Provider First Line Business Practice Location Address",
    "address_2": "Provider Second Line Business Practice Location Address",
    "city": "Provider Business Practice Location Address City Name",
    "state": "Provider Business Practice Location Address State Name",
    "postal_code": "Provider Business Practice Location Address Postal Code",
    "phone": "Provider Business Practice Location Address Telephone Number",
}
TAXONOMY_COLUMN = "Healthcare Provider Taxonomy Code_{}"
PRIMARY_COLUMN = "Healthcare Provider Primary Taxonomy Switch_{}"
TABLE_COLUMNS = [*COLUMNS, "taxonomy_code"]


class NppesFileError(ValueError):
    """The file is not an NPPES data file, or a row of it is malformed."""


def _column_positions(header):
    positions = {name: index for index, name in enumerate(header)}
    wanted = list(COLUMNS.values())
    for slot in range(1, TAXONOMY_SLOTS + 1):
        wanted += [TAXONOMY_COLUMN.format(slot), PRIMARY_COLUMN.format(slot)]
    missing = [name for name in wanted if name not in positions]
    if missing:
        raise NppesFileError(
            _("This is not an NPPES data file: the header lacks %(columns)s.")
            % {"columns": ", ".join(f"“{name}”" for name in missing[:3]) + (" …" if len(missing) > 3 else "")}
        )
    return positions


def _primary_taxonomy(row, positions):
    first = ""
    for slot in range(1, TAXONOMY_SLOTS + 1):
        code = row[positions[TAXONOMY_COLUMN.format(slot)]].strip()
        if code and row[positions[PRIMARY_COLUMN.format(slot)]].strip().upper() == "Y":
            return code
        first = first or code
    return first


def _csv_rows(reader):
    try:
        yield from reader
    except csv.Error as error:  # a NUL byte, an unclosed quote at the end: not a file we can read
        message = _("Line %(line)s cannot be read: %(error)s") % {"line": reader.line_num, "error": error}
        raise NppesFileError(message) from error


def _provider_rows(reader, positions, width):
    """Each active provider's kept values, in TABLE_COLUMNS order; deactivated NPIs (no entity type) are skipped."""
    for row in _csv_rows(reader):
        if len(row) != width:
            raise NppesFileError(
                _("Line %(line)s has %(found)s columns; the header has %(width)s.")
                % {"line": reader.line_num, "found": len(row), "width": width}
            )
        values = {name: row[positions[header]].strip() for name, header in COLUMNS.items()}
        if not values["entity_type"]:
            continue
        if values["entity_type"] not in {"1", "2"} or not npi_is_valid(values["npi"]):
            raise NppesFileError(
                _("Line %(line)s is not a valid provider (NPI “%(npi)s”, entity type “%(type)s”).")
                % {"line": reader.line_num, "npi": values["npi"][:20], "type": values["entity_type"][:5]}
            )
        values["postal_code"] = zip5(values["postal_code"][:5])
        values["taxonomy_code"] = _primary_taxonomy(row, positions)[:10]
        yield [values[name][: NppesProvider._meta.get_field(name).max_length] for name in TABLE_COLUMNS]


class _CsvStream(io.RawIOBase):
    """Rows turned into CSV text on demand: what ``copy_expert`` reads, so the file is never held in memory."""

    def __init__(self, rows, on_row):
        self._rows, self._on_row, self._buffer = rows, on_row, b""
        self.error = None  # psycopg2 reports a failed read() as its own error; the load re-raises ours
        self._line = io.StringIO()
        self._writer = csv.writer(self._line, lineterminator="\n")

    def readable(self):
        return True

    def read(self, size=-1):
        while size < 0 or len(self._buffer) < size:
            try:
                row = next(self._rows, None)
            except NppesFileError as error:
                self.error = error
                raise
            if row is None:
                break
            self._writer.writerow(row)
            self._buffer += self._line.getvalue().encode()
            self._line.seek(0)
            self._line.truncate()
            self._on_row()
        chunk, self._buffer = (self._buffer, b"") if size < 0 else (self._buffer[:size], self._buffer[size:])
        return chunk


def _copy_into_table(rows, on_row):
    table, columns = NppesProvider._meta.db_table, ", ".join(TABLE_COLUMNS)
    with connection.cursor() as cursor:
        cursor.execute(f"TRUNCATE {table}")  # noqa: S608 - the table name is our own model's
        stream = _CsvStream(rows, on_row)
        try:
            cursor.cursor.copy_expert(
                # FORCE_NOT_NULL: an empty field is "" (the columns are NOT NULL strings), not CSV's NULL.
                f"COPY {table} ({columns}) FROM STDIN WITH (FORMAT csv, FORCE_NOT_NULL ({columns}))",  # noqa: S608
                stream,
            )
        except psycopg2.Error as error:
            if stream.error is not None:
                raise stream.error from error
            raise


def _bulk_create(rows, on_row):
    NppesProvider.objects.all().delete()
    batch = []
    for row in rows:
        batch.append(NppesProvider(**dict(zip(TABLE_COLUMNS, row, strict=True))))
        on_row()
        if len(batch) >= BULK_BATCH:
            NppesProvider.objects.bulk_create(batch)
            batch = []
    NppesProvider.objects.bulk_create(batch)


def nppes_load(text_stream, *, progress=None, progress_every=100_000):
    """Replace ``NppesProvider`` with the providers of an NPPES CSV read from ``text_stream``; returns the count.

    ``progress(count)`` is called every ``progress_every`` rows. NppesFileError, with nothing changed, when the
    header is not the NPPES one or a row is malformed.
    """
    reader = csv.reader(text_stream)
    header = next(reader, None)
    if not header:
        raise NppesFileError(_("The file is empty."))
    positions = _column_positions([name.strip() for name in header])
    loaded = 0

    def on_row():
        nonlocal loaded
        loaded += 1
        if progress and loaded % progress_every == 0:
            progress(loaded)

    rows = _provider_rows(reader, positions, len(header))
    with transaction.atomic():
        if connection.vendor == "postgresql":
            _copy_into_table(rows, on_row)
        else:
            _bulk_create(rows, on_row)
    return loaded
