"""The practice page's panels that belong to higher apps.

partners imports neither referrals nor outreach, and neither does its practice page: the referrals card, the
outreach timeline and cards, the portal and pad panels are registered here by their own apps when they start
(``AppConfig.ready``) and drawn in the slot they name, in ``order``. Each panel is a template that receives the
page's context (``practice``, ``current_spa``…) and loads what it needs through its own app's template tags.

Slots: ``MAIN`` (the wide column, above the clinicians), ``MAIN_END`` (the wide column's foot, after the
research notes) and ``SIDE`` (the narrow column's foot).
"""

from dataclasses import dataclass

MAIN = "main"
MAIN_END = "main_end"
SIDE = "side"
SLOTS = (MAIN, MAIN_END, SIDE)


@dataclass(frozen=True, order=True)
class Panel:
    order: int
    template_name: str


_panels = {slot: set() for slot in SLOTS}


def register_panel(slot, template_name, *, order=100):
    """Draw ``template_name`` in ``slot`` of every practice page; registering twice draws it once."""
    if slot not in _panels:
        raise ValueError(f"Unknown practice page slot {slot!r}; choose one of {', '.join(SLOTS)}.")
    _panels[slot].add(Panel(order, template_name))


def panels():
    """{slot: [template name, …]} in drawing order, for the practice page's context."""
    return {slot: [panel.template_name for panel in sorted(registered)] for slot, registered in _panels.items()}
