"""The top floor: what the spa's people look at to see how the work is going.

The dashboard (the workspace's front page, /s/<spa_slug>/), the reports and "/" (where a signed-in person is
sent). insights reads every feature app (spas, partners, referrals, outreach) and the bottom floor (infra); no
app imports insights. It writes nothing of its own: its figures come from the apps' selectors and maintained
aggregates.
"""
