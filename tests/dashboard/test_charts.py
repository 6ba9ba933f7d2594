"""The server-rendered SVG charts: valid SVG, accessible names, every number written as text, patterns that
tell series apart without colour, and nothing from the data interpreted as markup."""

import xml.etree.ElementTree as ET

from spa_referrals import charts

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
    assert root.get("role") == "img" and root.get("aria-labelledby") == "top-title top-desc"
    assert root.find(f"{SVG}title").text == "Top referring practices"
    assert root.find(f"{SVG}desc").text == "Glow Dermatology: 12; Back Bay OB-GYN: 3"
    assert {"Glow Dermatology", "12", "Back Bay OB-GYN", "3"} <= set(texts(root))
    assert root.find(f".//{SVG}a").get("href") == "/s/x/partners/1/"
    widths = [float(rect.get("width")) for rect in root.iter(f"{SVG}rect") if rect.get("fill") == charts.PALETTE[0]]
    assert widths[0] > widths[1] * 3.5  # 12 vs 3, proportional


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
