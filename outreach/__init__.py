"""Outreach: the work of winning and keeping partners, one room per capability.

``activity`` (touchpoints, tasks, My day — the room the others build on), ``letters`` (templates, batches,
leave-behinds), ``campaigns``, ``events``, ``gifts`` (the ledger against the yearly limit), ``objections`` and
``health`` (check-in cadence, nudges, partner health kept per partner). Models live in ``models/`` by area;
``tasks.py`` holds the scheduled jobs Celery discovers; ``urls.py`` mounts each room's URLs under
/s/<spa_slug>/outreach/.

May import: referrals, partners, spas, infra, Django and libraries. Never insights or the project.
"""
