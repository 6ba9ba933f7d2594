"""A patient's details from a message, only where the message clearly labels them.

"Patient: Jane Doe", "Phone: 617-555-0123", "Email: jane@example.com" on lines of their own pre-fill the confirm
form; nothing is read from free text ("please see Jane, she'll call you"), a label given twice with different
values is left out (two patients, or a typo: a person decides), and the sender's own address or number is never
taken for the patient's. Staff complete and correct the form before anything is saved.
"""

import re

from django.core.exceptions import ValidationError
from django.core.validators import validate_email

from infra.phones import normalize_phone, without_extension

_LINE = r"^[ \t>*\-•]*(?:{label})[ \t]*[:=–-][ \t]*(?P<value>[^\n]+?)[ \t]*$"
LABELS = {
    "name": r"patient(?:'s)?(?:[ \t]+full)?(?:[ \t]+name)?|name(?:[ \t]+of[ \t]+patient)?|pt(?:[ \t]+name)?",
    "phone": r"(?:patient(?:'s)?[ \t]+)?(?:phone|tel|telephone|mobile|cell)(?:[ \t]*(?:number|no\.?|#))?",
    "email": r"(?:patient(?:'s)?[ \t]+)?e-?mail(?:[ \t]+address)?",
}
_PATTERNS = {key: re.compile(_LINE.format(label=label), re.IGNORECASE | re.MULTILINE) for key, label in LABELS.items()}
_NAME_WORD = re.compile(r"^[^\W\d_][^\W\d_'’.\-]*(?:['’.\-][^\W\d_]+)*\.?$")


def _only_value(kind, text):
    """The labelled value, when the message gives exactly one (however often it repeats it)."""
    values = {match.group("value").strip() for match in _PATTERNS[kind].finditer(text)}
    return values.pop() if len(values) == 1 else None


def _name(value):
    """(first, last) from "Jane Doe", "Jane van der Berg" or "Doe, Jane"; None for anything else."""
    if not value:
        return None
    if value.count(",") == 1:
        last, first = (part.strip() for part in value.split(","))
        words = [*first.split(), *last.split()]
        first_last = (first, last)
    else:
        words = value.split()
        first_last = (words[0], " ".join(words[1:])) if len(words) >= 2 else None
    if first_last is None or not 2 <= len(words) <= 4 or not all(_NAME_WORD.match(word) for word in words):
        return None
    first, last = first_last
    return (first, last) if len(first) <= 80 and len(last) <= 80 else None


def _phone(value, region, sender):
    try:
        number = normalize_phone(value, region) if value else ""
    except ValidationError:
        return ""
    return "" if without_extension(number) == sender else number


def _email(value, sender):
    value = (value or "").strip().strip("<>").lower()
    try:
        validate_email(value)
    except ValidationError:
        return ""
    return "" if value == sender else value


def patient_guesses(text, *, region, sender=""):
    """{form field: value} for what ``text`` clearly labels: patient_first_name, patient_last_name,
    patient_phone (stored form), patient_email."""
    text = text or ""
    guesses = {}
    name = _name(_only_value("name", text))
    if name:
        guesses["patient_first_name"], guesses["patient_last_name"] = name
    phone = _phone(_only_value("phone", text), region, (sender or "").lower())
    if phone:
        guesses["patient_phone"] = phone
    address = _email(_only_value("email", text), (sender or "").lower())
    if address:
        guesses["patient_email"] = address
    return guesses
