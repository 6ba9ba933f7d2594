"""Server-rendered SVG charts: horizontal bars, a funnel and stacked columns. Domain-free.

Why SVG from the server rather than a JavaScript library: the charts render without scripts (the
Content-Security-Policy forbids inline ones, and nothing has to run for a chart to appear), print, show
in PDFs, and are testable as text. They are readable without colour: every bar carries its number as
text, stacked series also differ by fill pattern, and the legend repeats the pattern.

Accessibility: a chart that is only a picture is an ``<svg role="img">`` named by its <title> and described
by its <desc> (which lists every number); templates add a "Show as a table" fallback with the same numbers.
A chart whose names are links (bars with ``href``) is not an image: an image's content is presentational,
so links inside it are unreachable for assistive technology (axe: nested-interactive). Such a chart is an
``<svg role="group">`` named by its <title>, whose links carry the full names as their accessible names.

Text is never clipped: the server cannot ask a browser how wide a string is, so it estimates from the advance
widths of DejaVu Sans, the widest of the sans-serif faces ``system-ui`` resolves to (Windows' Segoe UI,
Apple's SF, Android's Roboto and GNOME's Cantarell are all narrower), so an estimate errs on the roomy side.
A label column grows to fit its names up to a limit; a longer name wraps onto a second line, and one that
does not fit in two is shortened with "…" and keeps its full text in a <title> (the tooltip).

Only presentation attributes are used (fill=, stroke=), never style attributes, so a strict
style-src policy does not break them. All text is escaped.
"""

import unicodedata
from dataclasses import dataclass

from django.utils.html import escape
from django.utils.safestring import mark_safe

# Okabe–Ito, a palette that stays distinguishable with the common colour-vision deficiencies.
PALETTE = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000", "#999999"]
# A pattern per series so that stacked bars can be told apart without colour.
PATTERNS = ["solid", "diagonal", "dots", "cross", "horizontal", "vertical", "back-diagonal", "grid", "sparse"]

FONT_SIZE = 13
LINE_HEIGHT = 15
BAR_HEIGHT = 22
BAR_GAP = 8
LABEL_GAP = 8  # between a label's end and its bar
VALUE_GAP = 6  # between a bar's track and its value
LABEL_WIDTH = 240  # the widest a label column grows before its names wrap
MIN_TRACK_SHARE = 0.35  # the bars keep at least this share of the drawing's width
WIDTH = 640
ELLIPSIS = "…"

# DejaVu Sans advance widths, in thousandths of an em, for " " (U+0020) to "~" (U+007E).
_ASCII_WIDTHS = (
    (318, 401, 460, 838, 636, 950, 780, 275, 390, 390, 500, 838, 318, 361, 318, 337)
    + (636,) * 10
    + (337, 337, 838, 838, 838, 531, 1000)
    + (684, 686, 698, 770, 632, 575, 775, 752, 295, 295, 656, 557, 863)
    + (748, 787, 603, 787, 695, 635, 611, 732, 684, 989, 685, 611, 685)
    + (390, 337, 390, 838, 500, 500)
    + (613, 635, 550, 635, 615, 352, 635, 634, 278, 278, 579, 278, 974)
    + (634, 612, 635, 635, 411, 521, 392, 634, 592, 818, 592, 592, 525)
    + (636, 337, 636, 838)
)
_OTHER_WIDTH = 700  # a letter outside ASCII with no ASCII base letter: a little wider than the average
_WIDE_WIDTH = 1000  # CJK and other full-width characters


def _char_width(char):
    code = ord(char)
    if 32 <= code < 127:
        return _ASCII_WIDTHS[code - 32]
    if unicodedata.east_asian_width(char) in ("W", "F"):
        return _WIDE_WIDTH
    if char == ELLIPSIS:
        return 1000
    base = unicodedata.normalize("NFKD", char)[:1]  # "é" is about as wide as "e"
    if base and 32 <= ord(base) < 127:
        return _ASCII_WIDTHS[ord(base) - 32]
    return _OTHER_WIDTH


def text_width(text, font_size=FONT_SIZE):
    """How wide ``text`` draws at ``font_size`` in the charts' font, on the roomy side (see the module doc)."""
    return sum(_char_width(char) for char in str(text)) * font_size / 1000


def _shorten(text, width, font_size):
    """``text`` cut at a word (or, failing that, a character) and ended with "…" so that it fits ``width``."""
    if text_width(text, font_size) <= width:
        return text
    words = text.split()
    while len(words) > 1:
        words.pop()
        candidate = " ".join(words).rstrip(",;:-–") + ELLIPSIS
        if text_width(candidate, font_size) <= width:
            return candidate
    candidate = text
    while candidate and text_width(candidate + ELLIPSIS, font_size) > width:
        candidate = candidate[:-1]
    return candidate.rstrip() + ELLIPSIS


def wrap(text, width, *, font_size=FONT_SIZE, max_lines=2):
    """``text`` broken at spaces into at most ``max_lines`` lines that each fit ``width``.

    Returns (lines, shortened): when the text does not fit, the last line ends with "…" and ``shortened`` is
    true (show the whole text some other way, e.g. a <title>)."""
    words = str(text).split()
    if not words:
        return [""], False
    if max_lines == 2 and len(words) > 1 and text_width(" ".join(words), font_size) > width:
        # Two lines of even length read better than a long one and a stray word ("Brookline / Women's Health",
        # not "Brookline Women's / Health"): of the breaks where both lines fit, the one with the shorter longer line.
        breaks = [(" ".join(words[:index]), " ".join(words[index:])) for index in range(1, len(words))]
        fitting = [pair for pair in breaks if max(text_width(line, font_size) for line in pair) <= width]
        if fitting:
            return list(min(fitting, key=lambda pair: max(text_width(line, font_size) for line in pair))), False
    lines = []
    current = ""
    for word in words:
        candidate = f"{current} {word}" if current else word
        if not current or text_width(candidate, font_size) <= width:
            current = candidate
        else:
            lines.append(current)
            current = word
    lines.append(current)
    if len(lines) > max_lines:
        lines = [*lines[: max_lines - 1], " ".join(lines[max_lines - 1 :])]
    fitted = [_shorten(line, width, font_size) for line in lines]
    shortened = fitted != lines
    return fitted, shortened


def _svg(width, height, title, desc, body, chart_id, *, interactive=False):
    # An image when it is a picture; a group when it holds links (see the module doc).
    if interactive:
        role = f'role="group" aria-labelledby="{chart_id}-title"'
    else:
        role = f'role="img" aria-labelledby="{chart_id}-title {chart_id}-desc"'
    return mark_safe(  # noqa: S308 - every piece of text below went through escape()
        f'<svg class="chart" viewBox="0 0 {width:g} {height:g}" width="100%" preserveAspectRatio="xMinYMin meet" '
        f'{role} xmlns="http://www.w3.org/2000/svg" '
        f'font-family="system-ui, -apple-system, Segoe UI, Roboto, sans-serif" font-size="{FONT_SIZE}">'
        f'<title id="{chart_id}-title">{escape(title)}</title><desc id="{chart_id}-desc">{escape(desc)}</desc>'
        f"{body}</svg>"
    )


def _number(value):
    return f"{value:,}" if isinstance(value, int) else str(value)


def _text_lines(lines, *, x, centre_y, anchor, fill="#212529", font_size=FONT_SIZE, hidden=False):
    """A <text> of one or more lines centred vertically on ``centre_y`` (``hidden`` from assistive technology
    when something else names it: lines in <tspan>s would be read run together, "BrooklineWomen's Health")."""
    # 0.35 em below the centre puts a line's x-height in the middle.
    first = centre_y - (len(lines) - 1) * LINE_HEIGHT / 2 + font_size * 0.35
    if len(lines) == 1:
        content = escape(lines[0])
    else:
        content = "".join(
            f'<tspan x="{x:g}" y="{first + index * LINE_HEIGHT:.1f}">{escape(line)}</tspan>'
            for index, line in enumerate(lines)
        )
    aria = ' aria-hidden="true"' if hidden else ""
    return f'<text x="{x:g}" y="{first:.1f}" text-anchor="{anchor}" fill="{fill}"{aria}>{content}</text>'


@dataclass
class Bar:
    label: str
    value: float
    display: str = ""  # how the value is written next to the bar (defaults to the number)
    href: str = ""


def horizontal_bars(bars, *, title, chart_id, colour=PALETTE[0], width=WIDTH, label_width=LABEL_WIDTH):
    """One bar per row, longest = full track, the value written at the end of each bar.

    ``width`` is the drawing's own width: give a narrow card a narrow drawing so the text stays legible.
    ``label_width`` is the most the label column may take: it is as wide as its longest name up to that,
    and longer names wrap (two lines at most, then "…" with the full name as a tooltip). Bars with an
    ``href`` make their names links, and the chart a group rather than an image.
    """
    bars = list(bars)
    if not bars:
        return ""
    top = max((bar.value for bar in bars), default=0) or 1
    values = [str(bar.display or _number(bar.value)) for bar in bars]
    value_width = max(text_width(value) for value in values) + VALUE_GAP + 2
    most = min(label_width, width * (1 - MIN_TRACK_SHARE) - value_width)
    column = max(40, min(most, max(text_width(bar.label) for bar in bars) + LABEL_GAP))
    track = width - column - value_width
    interactive = any(bar.href for bar in bars)
    rows = []
    y = 0.0
    for bar, value in zip(bars, values, strict=True):
        lines, shortened = wrap(bar.label, column - LABEL_GAP)
        row_height = max(BAR_HEIGHT, len(lines) * LINE_HEIGHT + 4)
        centre = row_height / 2
        length = max(2.0, track * bar.value / top) if bar.value else 0
        label = _text_lines(lines, x=column - LABEL_GAP, centre_y=centre, anchor="end", hidden=bool(bar.href))
        full_name = f"<title>{escape(bar.label)}</title>"
        if bar.href:
            # The link's accessible name is the whole name (its <title>), whatever the drawing had to shorten.
            label = f'<a href="{escape(bar.href)}">{full_name}{label}</a>'
        elif shortened:
            label = f"<g>{full_name}{label}</g>"
        bar_top = centre - BAR_HEIGHT / 2
        rows.append(
            f'<g transform="translate(0,{y:g})">{label}'
            f'<rect x="{column:g}" y="{bar_top:g}" width="{track:.1f}" height="{BAR_HEIGHT}" fill="#f1f3f5"/>'
            f'<rect x="{column:g}" y="{bar_top:g}" width="{length:.1f}" height="{BAR_HEIGHT}" fill="{colour}"/>'
            + _text_lines([value], x=column + track + VALUE_GAP, centre_y=centre, anchor="start")
            + "</g>"
        )
        y += row_height + BAR_GAP
    desc = "; ".join(f"{bar.label}: {value}" for bar, value in zip(bars, values, strict=True))
    return _svg(width, y, title, desc, "".join(rows), chart_id, interactive=interactive)


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
        text = f"{label}: {_number(count)} ({percent})"
        # A long (translated) step name steps the font down rather than running off the drawing.
        size = FONT_SIZE
        while size > 9 and text_width(text, size) > width - 8:
            size -= 1
        size_attribute = f' font-size="{size}"' if size != FONT_SIZE else ""
        rows.append(
            f'<g transform="translate(0,{y})">'
            f'<rect x="{x:.1f}" y="0" width="{bar:.1f}" height="{row_height - 8}" rx="3" '
            f'fill="{PALETTE[index % len(PALETTE)]}" fill-opacity="0.9"/>'
            f'<text x="{width / 2:.1f}" y="{(row_height - 8) * 0.68:.1f}" text-anchor="middle" fill="#000" '
            f'stroke="#fff" stroke-width="3" paint-order="stroke"{size_attribute}>{escape(text)}</text>'
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


LEGEND_FONT_SIZE = 12
LEGEND_SWATCH = 14
LEGEND_ROW = 22
LEGEND_ITEM_GAP = 20


def _legend(series, chart_id, *, left, top, width):
    """Legend items (swatch + "name (total)") flowed left to right, onto a new row when the next one would not
    fit; an item wider than a row is shortened, with the whole text as its tooltip. Returns (parts, rows)."""
    parts = []
    x, row = left, 0
    room = width - left - LEGEND_SWATCH - 6
    for index, (name, values) in enumerate(series):
        text = f"{name} ({_number(sum(values))})"
        shown = _shorten(text, room, LEGEND_FONT_SIZE)
        item_width = LEGEND_SWATCH + 6 + text_width(shown, LEGEND_FONT_SIZE)
        if x > left and x + item_width > width:
            x, row = left, row + 1
        y = top + row * LEGEND_ROW
        tooltip = f"<title>{escape(text)}</title>" if shown != text else ""
        parts.append(
            f"<g>{tooltip}"
            f'<rect x="{x:g}" y="{y:g}" width="{LEGEND_SWATCH}" height="{LEGEND_SWATCH}" '
            f'fill="url(#{chart_id}-p{index})"/>'
            f'<text x="{x + LEGEND_SWATCH + 6:g}" y="{y + 11:g}" font-size="{LEGEND_FONT_SIZE}" fill="#212529">'
            f"{escape(shown)}</text></g>"
        )
        x += item_width + LEGEND_ITEM_GAP
    return parts, (row + 1 if series else 0)


def stacked_columns(columns, series, *, title, chart_id, width=WIDTH):
    """Columns (e.g. weeks) of stacked series (e.g. specialties): series is [(name, [value per column])].

    Each column's total is written above it; the legend shows each series' pattern and total. In a narrow
    drawing (a phone's) the column labels step down a size and then label every second (third…) column,
    counted back from the last, rather than run into each other.
    """
    columns = list(columns)
    series = [(name, list(values)) for name, values in series if any(values)]
    if not columns:
        return ""
    totals = [sum(values[index] for _name, values in series) for index in range(len(columns))]
    top = max(totals, default=0) or 1
    plot_height, plot_top, left = (200 if width >= 500 else 160), 20, 36
    slot = (width - left) / len(columns)
    bar_width = slot * 0.7
    label_size = 11
    widest = max(text_width(column, label_size) for column in columns)
    while label_size > 9 and widest > slot - 2:
        label_size -= 1
        widest = max(text_width(column, label_size) for column in columns)
    every = 1
    while widest > every * slot - 4:
        every += 1
    legend, legend_rows = _legend(series, chart_id, left=left, top=plot_top + plot_height + 30, width=width)
    height = plot_top + plot_height + 34 + legend_rows * LEGEND_ROW
    parts = [_pattern_defs(chart_id, len(series))]
    parts.append(
        f'<line x1="{left}" y1="{plot_top + plot_height}" x2="{width}" y2="{plot_top + plot_height}" stroke="#adb5bd"/>'
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
        if (len(columns) - 1 - index) % every == 0:
            # Centred under its column, but kept inside the drawing at either end.
            half = text_width(column, label_size) / 2 + 1
            label_x = min(max(x + bar_width / 2, half), width - half)
            parts.append(
                f'<text x="{label_x:.1f}" y="{plot_top + plot_height + 16}" text-anchor="middle" '
                f'font-size="{label_size}" fill="#495057">{escape(column)}</text>'
            )
    parts.extend(legend)
    desc = "; ".join(f"{column}: {_number(total)}" for column, total in zip(columns, totals, strict=True))
    return _svg(width, height, title, desc, "".join(parts), chart_id)
