"""How much room a line of text takes in print, measured with the font the PDF uses. Domain-free.

Documents (templates/documents/*) print in DejaVu Sans (static/documents/document.css). To lay a page
out in Python before WeasyPrint renders it — how many lines a service name wraps to at 8 pt, whether a
list still fits — we measure each string with the same font file through Pillow, then wrap greedily
at spaces the way a browser does. The answer errs on the wide side (``SAFETY``): a browser may break
at more places (after a hyphen), which only ever makes a paragraph shorter, never longer, so the
estimate is an upper bound. Without the font file (a system without DejaVu) a conservative average
width per character stands in.
"""

import functools

MM_PER_PT = 25.4 / 72
SAFETY = 1.04  # measured widths are stretched by 4 %: kerning, rounding, a bold label in the line
FALLBACK_EM_PER_CHAR = 0.66  # wider than DejaVu Sans's widest common text, so the fallback never overfills
_SIZE = 100  # the font is loaded once, at 100 px, and widths are scaled from it


@functools.cache
def _font(bold):
    from PIL import ImageFont  # here, not at the top: only a document render needs it

    try:
        return ImageFont.truetype("DejaVuSans-Bold.ttf" if bold else "DejaVuSans.ttf", _SIZE)
    except OSError:
        return None


def text_width_mm(text, size_pt, *, bold=False):
    """The printed width of ``text`` at ``size_pt`` points, in millimetres (rounded up by SAFETY)."""
    font = _font(bold)
    em = font.getlength(text) / _SIZE if font is not None else len(text) * FALLBACK_EM_PER_CHAR
    return em * size_pt * MM_PER_PT * SAFETY


def wrap(text, width_mm, size_pt, *, bold=False, first_width_mm=None):
    """``text`` broken into lines no wider than ``width_mm`` (the first no wider than ``first_width_mm``, when
    something inline sits beside it): greedy at spaces, a word too long for a line on its own is split between
    characters (as ``overflow-wrap: anywhere`` does)."""
    lines = []
    line = ""

    def room():
        return first_width_mm if first_width_mm is not None and not lines else width_mm

    for word in text.split():
        candidate = f"{line} {word}" if line else word
        if text_width_mm(candidate, size_pt, bold=bold) <= room():
            line = candidate
            continue
        if line:
            lines.append(line)
        line = ""
        while text_width_mm(word, size_pt, bold=bold) > room():
            cut = len(word) - 1
            while cut > 1 and text_width_mm(word[:cut], size_pt, bold=bold) > room():
                cut -= 1
            lines.append(word[:cut])
            word = word[cut:]
        line = word
    if line:
        lines.append(line)
    return lines or [""]


def line_count(text, width_mm, size_pt, *, bold=False, first_width_mm=None):
    return len(wrap(text, width_mm, size_pt, bold=bold, first_width_mm=first_width_mm))
