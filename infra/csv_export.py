"""CSV downloads that spreadsheets cannot turn into formulas.

A cell that starts with ``= + - @``, a tab or a carriage return is prefixed with a single
quote (OWASP's advice against CSV injection), so opening an export in Excel or Sheets
never runs anything a practice name or a note smuggled in.
"""

import csv

from django.http import StreamingHttpResponse

FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value):
    if value is None:
        return ""
    text = str(value)
    if text.startswith(FORMULA_TRIGGERS):
        return "'" + text
    return text


class _Echo:
    def write(self, value):
        return value


def csv_rows(header, rows):
    writer = csv.writer(_Echo())
    yield "\ufeff"  # a BOM, so Excel reads UTF-8 names correctly
    yield writer.writerow([safe_cell(cell) for cell in header])
    for row in rows:
        yield writer.writerow([safe_cell(cell) for cell in row])


def csv_response(filename, header, rows):
    """Stream ``rows`` as a CSV attachment; memory stays flat however many rows there are."""
    response = StreamingHttpResponse(csv_rows(header, rows), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "no-store"
    return response
