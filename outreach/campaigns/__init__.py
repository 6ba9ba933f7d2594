"""Campaigns: a segment of practices worked through the same sequence of steps (a letter, a call, a visit),
each step a task on someone's My day. ``services`` writes (and registers its hooks on activity's task done and
reopened), ``selectors`` reads. It may import ``outreach.models``, ``outreach.activity`` (tasks and
touchpoints), ``outreach.letters`` (a letter step's letters) and the lower apps; no other room imports it
except the app's mount points (urls, tasks, apps.ready, demo, template tags).
"""
