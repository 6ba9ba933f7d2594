"""Writes of the lower apps that change what a higher app keeps derived from them.

The referral figures (referrals/figures.py, issue 15) count referrals per day, month, practice, clinician and
specialty, on the spa's calendar, with revenue at the catalog price. So a few writes down here change them,
though they touch no referral: the spa's time zone (spas), a service's price (spas' catalog), a practice's
specialty, a practice merged into another, a clinician deleted (partners). Imports flow one way
(``spas ← partners ← referrals``), so those writes cannot call referrals; instead they are wrapped in
``changing(…)``, and referrals registers here when it starts (AppConfig.ready):

- ``watch(watcher)``: ``watcher(*, spa, practices, clinicians, services, timezone)`` returns a context manager;
  it runs in the writing transaction, before the write (on entering) and after it (on leaving).
"""

import contextlib

_watchers = []


def watch(watcher):
    _watchers.append(watcher)
    return watcher


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
