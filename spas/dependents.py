"""Writes of the lower apps that change what a higher app keeps derived from them.

The referral figures (referrals/figures.py, issue 15) count referrals per day, month, practice, clinician and
specialty, on the spa's calendar, with revenue at the catalog price. So a few writes down here change them,
though they touch no referral: the spa's time zone (spas), a service's price (spas' catalog), a practice's
specialty, a practice merged into another, a clinician deleted (partners). Partner health (outreach/
health_snapshots.py, issue 15) keeps a row per trial or active partner, worked out from the practice itself
(its stage and since when, its name), from what outreach and referrals hold about it, and from the spa's time
zone. Imports flow one way (``spas ← partners ← referrals ← outreach``), so those writes cannot call the higher
apps; instead they call these, and the higher apps register here when they start (AppConfig.ready):

- ``watch(watcher)``: ``watcher(*, spa, practices, clinicians, services, timezone)`` returns a context manager;
  it runs in the writing transaction, before the write (on entering) and after it (on leaving). Writes are
  wrapped in ``changing(…)``.
- ``follow(follower)``: ``follower(*, spa, practices, every_practice)`` runs in the writing transaction once the
  write is done: these practices of ``spa`` were created, moved in the pipeline, renamed or had another merged
  into them, or (``every_practice``) all of them changed with the spa (its time zone). Writes call
  ``practices_changed(…)`` after any ``changing`` block has closed, so what a follower reads (the referral
  figures the watchers keep) is up to date.
"""

import contextlib

_watchers = []
_followers = []


def watch(watcher):
    _watchers.append(watcher)
    return watcher


def follow(follower):
    _followers.append(follower)
    return follower


@contextlib.contextmanager
def changing(*, spa, practices=(), clinicians=(), services=(), timezone=False):
    """Wrap a write that changes these practices, clinicians or services of ``spa`` (or its time zone) in the
    registered watchers."""
    with contextlib.ExitStack() as stack:
        for watcher in _watchers:
            stack.enter_context(
                watcher(spa=spa, practices=practices, clinicians=clinicians, services=services, timezone=timezone)
            )
        yield


def practices_changed(*, spa, practices=(), every_practice=False):
    """Tell the registered followers that a write changed these practices of ``spa`` (or, with
    ``every_practice``, all of them)."""
    if not (practices or every_practice):
        return
    for follower in _followers:
        follower(spa=spa, practices=list(practices), every_practice=every_practice)
