"""Partner health: how each trial and active partner is doing (at risk, cooling, healthy) and the work that
keeps partners warm: check-ins when due (with their briefing), thank-you note suggestions and fresh approaches
(``nudges``), the row kept per partner (``snapshots``) and the partners list's figures (``partner_figures``).
``selectors`` reads (the rules, a practice's check-in schedule); ``checkins``, ``nudges`` and ``snapshots``
write. It may import ``outreach.models``, ``outreach.activity`` (tasks, touchpoints and their hooks) and the
lower apps, and no other outreach room.
"""
