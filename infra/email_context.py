"""An email's template context as JSON, so that the outbox row can carry it to the worker that renders it.

``encode`` turns model instances into references (``{"$model": "partners.Practice", "pk": 7}``) and datetimes,
dates, times, Decimals and UUIDs into tagged strings; ``decode`` turns them back, with each instance loaded
fresh. A row holds references, never copies of a record's fields, so nothing of a record the email does not
show (a referral's clinical fields) is stored in the outbox.

``load_objects`` loads every instance a batch of contexts refers to with one query per model.
"""

import datetime
import uuid
from collections import defaultdict
from decimal import Decimal

from django.apps import apps
from django.db import models
from django.utils.functional import Promise
from django.utils.safestring import SafeData, mark_safe
from django_scopes import scopes_disabled

MODEL = "$model"
# Plain dicts may not use "$" keys, so a tagged value can never be mistaken for one.
TAG_PREFIX = "$"


class UndecodableContext(Exception):
    """The context refers to something that is gone (a deleted record, a renamed model) or is malformed."""


def encode(value):
    """``value`` (a context, or anything in one) as JSON-ready data."""
    if value is None or isinstance(value, bool) or type(value) in (int, float, str):
        return value
    if isinstance(value, SafeData):
        return {"$safe": str(value)}  # markup the caller marked safe stays unescaped in the HTML body
    if isinstance(value, Promise | str):
        # A lazy translation becomes its text in the language being enqueued in, which is also the language
        # the worker renders in; str and int subclasses (choices) become plain values.
        return str(value)
    if isinstance(value, int):
        return int(value)
    if isinstance(value, models.Model):
        if value.pk is None:
            raise TypeError(f"An email context cannot refer to an unsaved {value._meta.label}.")
        return {MODEL: value._meta.label, "pk": encode(value.pk)}
    if isinstance(value, datetime.datetime):  # before date: a datetime is a date too
        return {"$datetime": value.isoformat()}
    if isinstance(value, datetime.date):
        return {"$date": value.isoformat()}
    if isinstance(value, datetime.time):
        return {"$time": value.isoformat()}
    if isinstance(value, Decimal):
        return {"$decimal": str(value)}
    if isinstance(value, uuid.UUID):
        return {"$uuid": str(value)}
    if isinstance(value, dict):
        return {_plain_key(key): encode(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [encode(item) for item in value]
    raise TypeError(
        f"An email context cannot carry a {type(value).__name__}: pass model instances, lists of them, "
        "dates, numbers or short strings."
    )


def _plain_key(key):
    if not isinstance(key, str) or key.startswith(TAG_PREFIX):
        raise TypeError(f"An email context's keys are strings not starting with {TAG_PREFIX!r}, not {key!r}.")
    return key


def load_objects(contexts):
    """Every instance the encoded ``contexts`` refer to, by (model label, pk): one query per model.

    Loaded without a tenant scope (the outbox serves every spa) and through the base manager, as a foreign
    key would be. A reference whose model or row is gone is left out; ``decode`` then refuses its context.
    """
    wanted = defaultdict(set)
    for context in contexts:
        for label, pk in _references(context):
            wanted[label].add(pk)
    objects = {}
    with scopes_disabled():
        for label, pks in wanted.items():
            try:
                model = apps.get_model(label)
            except (LookupError, ValueError):
                continue
            for pk, instance in model._base_manager.in_bulk(pks).items():
                objects[(label, pk)] = instance
    return objects


def _references(value):
    if isinstance(value, list):
        for item in value:
            yield from _references(item)
    elif isinstance(value, dict):
        if MODEL in value:
            try:
                label, pk = value[MODEL], decode(value["pk"], {})
            except (UndecodableContext, KeyError, TypeError):
                return  # a malformed reference: ``decode`` refuses its context, the batch goes on
            if isinstance(label, str) and isinstance(pk, int | str | uuid.UUID):
                yield label, pk
        else:
            for item in value.values():
                yield from _references(item)


def decode(value, objects=None):
    """The context ``encode`` gave, with its instances taken from ``objects`` (``load_objects``; loaded here
    when not given). Raises ``UndecodableContext`` if an instance is gone or a value is malformed."""
    if objects is None:
        objects = load_objects([value])
    try:
        return _decode(value, objects)
    except (KeyError, TypeError, ValueError, ArithmeticError) as error:
        raise UndecodableContext(f"Malformed email context: {type(error).__name__}: {error}") from error


def _decode(value, objects):
    if isinstance(value, list):
        return [_decode(item, objects) for item in value]
    if not isinstance(value, dict):
        return value
    tags = [key for key in value if key.startswith(TAG_PREFIX)]
    if not tags:
        return {key: _decode(item, objects) for key, item in value.items()}
    [tag] = tags
    if tag == MODEL:
        return _instance(value[MODEL], _decode(value["pk"], {}), objects)
    return DECODERS[tag](value[tag])


def _instance(label, pk, objects):
    try:
        return objects[(label, pk)]
    except KeyError:
        raise UndecodableContext(f"The {label} with pk {pk} no longer exists.") from None


DECODERS = {
    "$datetime": datetime.datetime.fromisoformat,
    "$date": datetime.date.fromisoformat,
    "$time": datetime.time.fromisoformat,
    "$decimal": Decimal,
    "$uuid": uuid.UUID,
    "$safe": mark_safe,  # noqa: S308 - only ever what ``encode`` found marked safe
}
