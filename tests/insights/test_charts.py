"""The server-rendered SVG charts: valid SVG, accessible names, every number written as text, patterns that
tell series apart without colour, and nothing from the data interpreted as markup."""

import xml.etree.ElementTree as ET

import pytest

from infra import charts

SVG = "{http://www.w3.org/2000/svg}"


def parse(markup):
    return ET.fromstring(str(markup))  # noqa: S314 - our own output, parsed to check it


def texts(root):
    return [("".join(node.itertext())).strip() for node in root.iter(f"{SVG}text")]


def test_horizontal_bars_write_each_label_and_value_and_link_where_asked():
    markup = charts.horizontal_bars(
        [charts.Bar("Glow Dermatology", 12, href="/s/x/partners/1/"), charts.Bar("Back Bay OB-GYN", 3)],
        title="Top referring practices",
        chart_id="top",
    )
    root = parse(markup)
    assert root.find(f"{SVG}title").text == "Top referring practices"
    assert root.find(f"{SVG}desc").text == "Glow Dermatology: 12; Back Bay OB-GYN: 3"
    assert {"Glow Dermatology", "12", "Back Bay OB-GYN", "3"} <= set(texts(root))
    link = root.find(f".//{SVG}a")
    assert link.get("href") == "/s/x/partners/1/"
    assert link.find(f"{SVG}title").text == "Glow Dermatology"  # the link's accessible name
    assert link.find(f"{SVG}text").get("aria-hidden") == "true"  # not read a second time, lines run together
    widths = [float(rect.get("width")) for rect in root.iter(f"{SVG}rect") if rect.get("fill") == charts.PALETTE[0]]
    assert widths[0] > widths[1] * 3.5  # 12 vs 3, proportional


def test_a_chart_with_links_is_a_group_not_an_image():
    """An image's content is presentational: links inside one are out of reach (axe: nested-interactive)."""
    linked = parse(charts.horizontal_bars([charts.Bar("Glow", 2, href="/p/1/")], title="T", chart_id="a"))
    assert linked.get("role") == "group" and linked.get("aria-labelledby") == "a-title"
    plain = parse(charts.horizontal_bars([charts.Bar("Glow", 2)], title="T", chart_id="b"))
    assert plain.get("role") == "img" and plain.get("aria-labelledby") == "b-title b-desc"
    assert plain.find(f".//{SVG}a") is None
    for picture in (
        charts.funnel([("Received", 3)], title="F", chart_id="f"),
        charts.stacked_columns(["Nov 2"], [("Dermatology", [1])], title="W", chart_id="w"),
    ):
        root = parse(picture)
        assert root.get("role") == "img" and root.find(f".//{SVG}a") is None


LONG_NAMES = [
    "Brookline Women's Health",
    "Somerville Acupuncture Collective",
    "Mind & Body Integrative Health",
    "Massachusetts General Hospital Department of Dermatology and Cutaneous Surgery",
    "Dr. Maximiliana Featherstonehaugh-Worthington, MD, FAAD",
    "Glow",
]


def label_boxes(root, width):
    """(lines, left, right) of every <text> drawn by horizontal_bars, from its anchor and the estimated width."""
    boxes = []
    for text in root.iter(f"{SVG}text"):
        lines = [span.text for span in text.iter(f"{SVG}tspan")] or [text.text]
        x = float(text.get("x"))
        widest = max(charts.text_width(line) for line in lines)
        left, right = (x - widest, x) if text.get("text-anchor") == "end" else (x, x + widest)
        boxes.append((lines, left, right))
    return boxes


@pytest.mark.parametrize(("width", "label_width"), [(360, 180), (320, 124), (640, 240)])
def test_long_names_wrap_and_nothing_is_clipped(width, label_width):
    bars = [charts.Bar(name, 10 + index, display=f"${1000 * index:,}.00") for index, name in enumerate(LONG_NAMES)]
    root = parse(charts.horizontal_bars(bars, title="T", chart_id="t", width=width, label_width=label_width))
    boxes = label_boxes(root, width)
    for lines, left, right in boxes:
        assert left >= 0 and right <= width, (lines, left, right)
        assert len(lines) <= 2
    shown = {" ".join(lines) for lines, _left, _right in boxes}
    assert "Brookline Women's Health" in shown and "Glow" in shown  # whole, on one or two lines
    assert "$5,000.00" in shown  # the values fit too


def test_a_name_too_long_for_two_lines_is_shortened_and_keeps_its_full_name():
    name = LONG_NAMES[3]
    root = parse(
        charts.horizontal_bars([charts.Bar(name, 3), charts.Bar("Glow", 1)], title="T", chart_id="t", width=360)
    )
    first = root.find(f".//{SVG}g/{SVG}g")
    assert first.find(f"{SVG}title").text == name  # the tooltip
    lines = [span.text for span in first.iter(f"{SVG}tspan")]
    assert len(lines) == 2 and lines[0].startswith("Massachusetts") and lines[1].endswith("…")
    assert name in root.find(f"{SVG}desc").text  # and the description names it in full


def test_wrapping_breaks_at_spaces_and_shortens_only_what_does_not_fit():
    assert charts.wrap("Glow Dermatology", 200) == (["Glow Dermatology"], False)
    # Two even lines rather than a long one and a stray word.
    assert charts.wrap("Brookline Women's Health", 130) == (["Brookline", "Women's Health"], False)
    assert charts.wrap("Charles River Sports Medicine Clinic", 170) == (
        ["Charles River Sports", "Medicine Clinic"],
        False,
    )
    lines, shortened = charts.wrap("Supercalifragilisticexpialidocious Clinic", 100)
    assert shortened and lines[0].endswith("…") and charts.text_width(lines[0]) <= 100


def test_text_width_is_estimated_per_character():
    assert charts.text_width("WWW") > charts.text_width("iii") * 2
    assert charts.text_width("é") == charts.text_width("e")
    assert charts.text_width("Glow Dermatology", 26) == 2 * charts.text_width("Glow Dermatology", 13)


def test_the_legend_wraps_onto_rows_instead_of_cutting_names():
    series = [(f"{name} specialty", [1, 2]) for name in ("Dermatology", "Physical therapy", "Plastic surgery")]
    series += [("Sports medicine", [1, 0]), ("Primary care", [0, 1]), ("Chiropractic", [2, 2])]
    root = parse(charts.stacked_columns(["Nov 2", "Nov 9"], series, title="W", chart_id="w"))
    legend = [text for text in root.iter(f"{SVG}text") if text.get("font-size") == "12"]
    assert [text.text for text in legend][:2] == ["Dermatology specialty (3)", "Physical therapy specialty (3)"]
    for text in legend:
        assert float(text.get("x")) + charts.text_width(text.text, 12) <= charts.WIDTH
    assert len({text.get("y") for text in legend}) >= 2  # more than one row


def test_the_funnel_shows_counts_and_shares_of_the_first_step():
    root = parse(charts.funnel([("Received", 20), ("Contacted", 10), ("Completed", 5)], title="Funnel", chart_id="f"))
    assert texts(root) == ["Received: 20 (100%)", "Contacted: 10 (50%)", "Completed: 5 (25%)"]
    assert "style" not in str(charts.funnel([("Received", 1)], title="Funnel", chart_id="f"))


def test_stacked_columns_tell_series_apart_by_pattern_and_total_each_column():
    root = parse(
        charts.stacked_columns(
            ["Nov 2", "Nov 9"],
            [("Dermatology", [2, 1]), ("OB-GYN", [1, 4]), ("Unused", [0, 0])],
            title="W",
            chart_id="w",
        )
    )
    patterns = list(root.iter(f"{SVG}pattern"))
    assert [pattern.get("id") for pattern in patterns] == ["w-p0", "w-p1"]  # the empty series is left out
    assert {"3", "5", "Nov 2", "Nov 9", "Dermatology (3)", "OB-GYN (5)"} <= set(texts(root))


def test_data_never_becomes_markup():
    markup = str(
        charts.horizontal_bars(
            [charts.Bar('<script>alert(1)</script>"&', 1, href='javascript:alert(1)" onload="x')],
            title="<b>t</b>",
            chart_id="x",
        )
    )
    root = parse(markup)  # still well-formed
    assert root.find(f".//{SVG}script") is None and root.find(f".//{SVG}b") is None
    assert "<script>" not in markup and 'onload="x"' not in markup


def test_empty_data_draws_nothing():
    assert charts.horizontal_bars([], title="t", chart_id="x") == ""
    assert charts.funnel([], title="t", chart_id="x") == ""
    assert charts.stacked_columns([], [], title="t", chart_id="x") == ""


@pytest.mark.parametrize("width", [640, 340])
def test_column_labels_never_run_into_each_other_or_off_the_drawing(width):
    weeks = ["Sep 14", "Sep 21", "Sep 28", "Oct 5", "Oct 12", "Oct 19", "Oct 26", "Nov 2", "Nov 9", "Nov 16"]
    weeks += ["Nov 23", "Nov 30"]
    root = parse(
        charts.stacked_columns(weeks, [("Dermatology", list(range(12)))], title="W", chart_id="w", width=width)
    )
    labels = [text for text in root.iter(f"{SVG}text") if text.text in weeks]
    spans = sorted(
        (float(text.get("x")) - half, float(text.get("x")) + half)
        for text in labels
        for half in [charts.text_width(text.text, float(text.get("font-size"))) / 2]
    )
    assert spans[0][0] >= 0 and spans[-1][1] <= width
    assert all(left > previous_right for (_l, previous_right), (left, _r) in zip(spans, spans[1:], strict=False))
    assert labels[-1].text == "Nov 30"  # this week is always labelled
    assert len(labels) == (12 if width == 640 else 6)
