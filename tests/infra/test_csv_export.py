"""infra/csv_export.py: CSV downloads a spreadsheet cannot turn into formulas."""

import csv
import io

import pytest

from infra.csv_export import csv_response, csv_rows, safe_cell


def _parse(response):
    body = b"".join(response.streaming_content).decode("utf-8")
    assert body.startswith("\ufeff")
    return list(csv.reader(io.StringIO(body.removeprefix("\ufeff"))))


@pytest.mark.parametrize(
    "value",
    [
        '=HYPERLINK("http://evil.example","Click")',
        "=1+1",
        "+1-555-0100",
        "-2+3",
        "@SUM(A1:A9)",
        "\tTabbed",
        "\rCarriage",
        "=",
    ],
)
def test_it_puts_a_quote_before_cells_a_spreadsheet_would_run(value):
    assert safe_cell(value) == "'" + value


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("Glow Dermatology", "Glow Dermatology"),
        ("Dr. O'Neil", "Dr. O'Neil"),
        ("a=b", "a=b"),  # only the first character matters
        (" =1+1", " =1+1"),
        ("", ""),
        (None, ""),
        (42, "42"),
    ],
)
def test_it_leaves_harmless_cells_as_they_are(value, expected):
    assert safe_cell(value) == expected


def test_it_neutralises_negative_numbers_too():
    assert safe_cell(-5) == "'-5"


def test_the_response_is_an_attachment_that_browsers_do_not_sniff_or_cache():
    response = csv_response("serene-practices.csv", ["Name"], [["Glow"]])

    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == 'attachment; filename="serene-practices.csv"'
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Cache-Control"] == "no-store"


def test_rows_survive_commas_quotes_line_breaks_and_accents():
    rows = [
        ["Smith, Jones & Partners", 'The "Best" Clinic', "Line one\nLine two", "Café Dermatología"],
        ["=cmd|' /C calc'!A0", "+1 617", "@home", "-1"],
    ]

    parsed = _parse(csv_response("x.csv", ["A", "B", "C", "D"], rows))

    assert parsed == [
        ["A", "B", "C", "D"],
        rows[0],
        ["'=cmd|' /C calc'!A0", "'+1 617", "'@home", "'-1"],
    ]


def test_header_cells_are_neutralised_as_well():
    parsed = _parse(csv_response("x.csv", ["=Header", "Name"], []))

    assert parsed == [["'=Header", "Name"]]


def test_rows_are_written_as_they_are_read_not_before():
    consumed = []

    def rows():
        for number in range(3):
            consumed.append(number)
            yield [number]

    response = csv_response("x.csv", ["n"], rows())
    assert consumed == []

    assert _parse(response) == [["n"], ["0"], ["1"], ["2"]]
    assert consumed == [0, 1, 2]


def test_csv_rows_starts_with_a_byte_order_mark_for_excel():
    chunks = list(csv_rows(["Name"], [["Glow"]]))

    assert chunks[0] == "\ufeff"
    assert "".join(chunks[1:]) == "Name\r\nGlow\r\n"
