"""Objections: what practices say when they hesitate to refer, the library of prepared responses, the log of
objections raised and how each went, and the summary of what works. ``services`` writes, ``selectors`` reads.
It may import ``outreach.models``, ``outreach.activity`` (the spa's day, touchpoints) and the lower apps, and
no other outreach room.
"""
