"""Activity: touchpoints and tasks, the room every other outreach capability builds on (My day, the task list,
a practice's timeline, the playbook, the morning digest, outreach settings). ``services`` writes and calls the
hooks other rooms register on it (``on_task_done``, ``on_touchpoints_changed``...); ``selectors`` reads. It may
import ``outreach.models`` and the lower apps (referrals, partners, spas, infra), and no other outreach room:
the others import it.
"""
