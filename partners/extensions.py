"""Figures that higher apps add to the partners list and the pipeline board.

partners imports neither referrals nor outreach (imports flow one way), yet the list shows each practice's
last contact, next task, referrals in the last 3 months and health, and a board card its last contact and next step.
Those apps register here when they start (AppConfig.ready):

- ``register_annotations(annotate)``: ``annotate(queryset, *, spa) -> queryset`` adds values to a Practice
  queryset as SQL annotations (subqueries), so a page of 50 rows costs no extra query;
- ``register_decorator(decorate)``: ``decorate(practices, *, spa)`` sets attributes on the rows of one page
  (figures worked out in Python, like health) in a fixed number of queries;
- ``register_sort(key, order)``: ``order(queryset, *, spa, descending) -> queryset`` orders by a figure the
  app annotated or worked out; the list's ``?sort=<key>`` (``-<key>`` descending) uses it;
- ``register_derived(model)``: ``model``'s rows are worked out per practice by the app that owns them (partner
  health's row per partner). A merge deletes the merged practice's rows instead of moving them onto the survivor,
  where they would collide with its own; the app works the survivor's out again when told of the merge
  (``spas.dependents.practices_changed``).
"""

_annotations = []
_decorators = []
_sorts = {}
_derived = []


def register_annotations(annotate):
    _annotations.append(annotate)
    return annotate


def register_decorator(decorate):
    _decorators.append(decorate)
    return decorate


def register_sort(key, order):
    _sorts[key] = order
    return order


def register_derived(model):
    _derived.append(model)
    return model


def derived_models():
    return list(_derived)


def annotate(queryset, *, spa):
    """``queryset`` with every registered figure annotated."""
    for add in _annotations:
        queryset = add(queryset, spa=spa)
    return queryset


def decorate(practices, *, spa):
    """Set the registered Python-side figures on ``practices`` (one page of rows); returns them as a list."""
    practices = list(practices)
    for add in _decorators:
        add(practices, spa=spa)
    return practices


def sort_keys():
    return set(_sorts)


def order(queryset, key, *, spa, descending=False):
    """``queryset`` ordered by a registered figure, or None when no app registered ``key``."""
    if key not in _sorts:
        return None
    return _sorts[key](queryset, spa=spa, descending=descending)
