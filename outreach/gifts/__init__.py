"""Gifts: the ledger of gifts to referring clinicians and office staff, kept against the yearly limit per
recipient (the 80% warning, cash refused, an owner's recorded override), with its report and limits pages.
``services`` writes (each gift logs its touchpoint), ``selectors`` reads. It may import ``outreach.models``,
``outreach.activity`` (touchpoints, the spa's day) and the lower apps, and no other outreach room.
"""
