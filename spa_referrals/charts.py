"""Server-rendered SVG charts: horizontal bars, a funnel and stacked columns. Domain-free.

Why SVG from the server rather than a JavaScript library: the charts render without scripts (the
Content-Security-Policy forbids inline ones, and nothing has to run for a chart to appear), print, show
in PDFs, and are testable as text. They are readable without colour: every bar carries its number as
text, stacked series also differ by fill pattern, and the legend repeats the pattern. Each chart is an
``<svg role="img">`` with a <title> and <desc> summarising it; templates add a table with the same
numbers (see templates/includes/chart_table.html).

Only presentation attributes are used (fill=, stroke=), never style attributes, so a strict
style-src policy does not break them. All text is escaped.
"""

from dataclasses import dataclass

from django.utils.html import escape
from django.utils.safestring import mark_safe

# Okabe–Ito, a palette that stays distinguishable with the common colour-vision deficiencies.
PALETTE = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000", "#999999"]
# A pattern per series so that stacked bars can be told apart without colour.
PATTERNS = ["solid", "diagonal", "dots", "cross", "horizontal", "vertical", "back-diagonal", "grid", "sparse"]

BAR_HEIGHT = 22
BAR_GAP = 8
LABEL_WIDTH = 210
VALUE_WIDTH = 70
WIDTH = 640


def _svg(width, height, title, desc, body, chart_id):
    return mark_safe(  # noqa: S308 - every piece of text below went through escape()
        f'<svg class="chart" viewBox="0 0 {width} {height}" width="100%" preserveAspectRatio="xMinYMin meet" '
        f'role="img" aria-labelledby="{chart_id}-title {chart_id}-desc" xmlns="http://www.w3.org/2000/svg" '
        f'font-family="system-ui, -apple-system, Segoe UI, Roboto, sans-serif" font-size="13">'
        f'<title id="{chart_id}-title">{escape(title)}</title><desc id="{chart_id}-desc">{escape(desc)}</desc>'
        f"{body}</svg>"
    )


def _truncate(text, length):
    text = str(text)
    return text if len(text) <= length else text[: length - 1] + "…"


def _number(value):
    return f"{value:,}" if isinstance(value, int) else str(value)


@dataclass
class Bar:
    label: str
    value: float
    display: str = ""  # how the value is written next to the bar (defaults to the number)
    href: str = ""


def horizontal_bars(bars, *, title, chart_id, colour=PALETTE[0], width=WIDTH, label_width=LABEL_WIDTH):
    """One bar per row, longest = full width, the value written at the end of each bar.

    ``width`` is the drawing's own width: give a narrow card a narrow drawing so the text stays legible.
    """
    bars = list(bars)
    if not bars:
        return ""
    top = max((bar.value for bar in bars), default=0) or 1
    track = width - label_width - VALUE_WIDTH
    label_chars = max(12, label_width // 8)
    rows = []
    for index, bar in enumerate(bars):
        y = index * (BAR_HEIGHT + BAR_GAP)
        length = max(2.0, track * bar.value / top) if bar.value else 0
        label = escape(_truncate(bar.label, label_chars))
        if bar.href:
            label = f'<a href="{escape(bar.href)}">{label}</a>'
        rows.append(
            f'<g transform="translate(0,{y})">'
            f'<text x="{label_width - 8}" y="{BAR_HEIGHT * 0.7:.1f}" text-anchor="end" fill="#212529">{label}</text>'
            f'<rect x="{label_width}" y="0" width="{track}" height="{BAR_HEIGHT}" fill="#f1f3f5"/>'
            f'<rect x="{label_width}" y="0" width="{length:.1f}" height="{BAR_HEIGHT}" fill="{colour}"/>'
            f'<text x="{label_width + track + 6}" y="{BAR_HEIGHT * 0.7:.1f}" fill="#212529">'
            f"{escape(bar.display or _number(bar.value))}</text></g>"
        )
    height = len(bars) * (BAR_HEIGHT + BAR_GAP)
    desc = "; ".join(f"{bar.label}: {bar.display or _number(bar.value)}" for bar in bars)
    return _svg(width, height, title, desc, "".join(rows), chart_id)


def funnel(steps, *, title, chart_id, width=WIDTH):
    """Steps (label, count) as centred bars narrowing down, each with its count and its share of the first."""
    steps = list(steps)
    if not steps:
        return ""
    first = steps[0][1] or 0
    rows = []
    row_height = 40
    for index, (label, count) in enumerate(steps):
        share = (count / first) if first else 0
        bar = max(4.0, (width - 40) * share) if count else 4.0
        x = (width - bar) / 2
        y = index * row_height
        percent = f"{round(share * 100)}%" if first else "—"
        rows.append(
            f'<g transform="translate(0,{y})">'
            f'<rect x="{x:.1f}" y="0" width="{bar:.1f}" height="{row_height - 8}" rx="3" '
            f'fill="{PALETTE[index % len(PALETTE)]}" fill-opacity="0.9"/>'
            f'<text x="{width / 2:.1f}" y="{(row_height - 8) * 0.68:.1f}" text-anchor="middle" fill="#000" '
            f'stroke="#fff" stroke-width="3" paint-order="stroke">{escape(label)}: {_number(count)} ({percent})</text>'
            f"</g>"
        )
    desc = "; ".join(f"{label}: {_number(count)}" for label, count in steps)
    return _svg(width, len(steps) * row_height, title, desc, "".join(rows), chart_id)


def _pattern_defs(chart_id, count):
    defs = []
    shapes = {
        "solid": "",
        "diagonal": '<path d="M0,6 L6,0" stroke="#fff" stroke-width="1.5"/>',
        "dots": '<circle cx="3" cy="3" r="1.3" fill="#fff"/>',
        "cross": '<path d="M0,0 L6,6 M6,0 L0,6" stroke="#fff" stroke-width="1.2"/>',
        "horizontal": '<path d="M0,3 L6,3" stroke="#fff" stroke-width="1.5"/>',
        "vertical": '<path d="M3,0 L3,6" stroke="#fff" stroke-width="1.5"/>',
        "back-diagonal": '<path d="M0,0 L6,6" stroke="#fff" stroke-width="1.5"/>',
        "grid": '<path d="M0,0 L6,0 M0,0 L0,6" stroke="#fff" stroke-width="1.2"/>',
        "sparse": '<circle cx="1.5" cy="1.5" r="0.9" fill="#fff"/>',
    }
    for index in range(count):
        colour = PALETTE[index % len(PALETTE)]
        shape = shapes[PATTERNS[index % len(PATTERNS)]]
        defs.append(
            f'<pattern id="{chart_id}-p{index}" width="6" height="6" patternUnits="userSpaceOnUse">'
            f'<rect width="6" height="6" fill="{colour}"/>{shape}</pattern>'
        )
    return "<defs>" + "".join(defs) + "</defs>"


def stacked_columns(columns, series, *, title, chart_id):
    """Columns (e.g. weeks) of stacked series (e.g. specialties): series is [(name, [value per column])].

    Each column's total is written above it; the legend shows each series' pattern and total.
    """
    columns = list(columns)
    series = [(name, list(values)) for name, values in series if any(values)]
    if not columns:
        return ""
    totals = [sum(values[index] for _name, values in series) for index in range(len(columns))]
    top = max(totals, default=0) or 1
    plot_height, plot_top, left = 200, 20, 36
    legend_rows = (len(series) + 2) // 3
    height = plot_top + plot_height + 34 + legend_rows * 22
    slot = (WIDTH - left) / len(columns)
    bar_width = slot * 0.7
    parts = [_pattern_defs(chart_id, len(series))]
    parts.append(
        f'<line x1="{left}" y1="{plot_top + plot_height}" x2="{WIDTH}" y2="{plot_top + plot_height}" stroke="#adb5bd"/>'
    )
    for index, column in enumerate(columns):
        x = left + index * slot + (slot - bar_width) / 2
        y = plot_top + plot_height
        for series_index, (_name, values) in enumerate(series):
            value = values[index]
            if not value:
                continue
            segment = plot_height * value / top
            y -= segment
            parts.append(
                f'<rect x="{x:.1f}" y="{y:.1f}" width="{bar_width:.1f}" height="{segment:.1f}" '
                f'fill="url(#{chart_id}-p{series_index})" stroke="#fff" stroke-width="0.5"/>'
            )
        parts.append(
            f'<text x="{x + bar_width / 2:.1f}" y="{y - 4:.1f}" text-anchor="middle" font-size="11" fill="#212529">'
            f"{_number(totals[index])}</text>"
        )
        parts.append(
            f'<text x="{x + bar_width / 2:.1f}" y="{plot_top + plot_height + 16}" text-anchor="middle" '
            f'font-size="11" fill="#495057">{escape(column)}</text>'
        )
    for series_index, (name, values) in enumerate(series):
        row, col = divmod(series_index, 3)
        lx, ly = left + col * 200, plot_top + plot_height + 30 + row * 22
        parts.append(
            f'<rect x="{lx}" y="{ly}" width="14" height="14" fill="url(#{chart_id}-p{series_index})"/>'
            f'<text x="{lx + 20}" y="{ly + 11}" font-size="12" fill="#212529">'
            f"{escape(_truncate(name, 22))} ({_number(sum(values))})</text>"
        )
    desc = "; ".join(f"{column}: {_number(total)}" for column, total in zip(columns, totals, strict=True))
    return _svg(WIDTH, height, title, desc, "".join(parts), chart_id)
