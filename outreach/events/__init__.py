"""Events: lunch presentations, open houses and other events, their invitees' RSVPs and attendance (each
attending practice gets a touchpoint) and the follow-up tasks after. ``services`` writes, ``selectors`` reads.
It may import ``outreach.models``, ``outreach.activity`` (tasks and touchpoints) and the lower apps, and no
other outreach room.
"""
