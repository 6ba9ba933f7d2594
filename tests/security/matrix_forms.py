"""Foreign ids in request bodies and query filters, found by reading the app's own forms.

Every page of the home spa is fetched as its owner; each form on it (filters included) is filled the way a
person would leave it — defaults, the first choice of each select, something in each required box — and
then every value that names one of the home spa's rows is swapped for a row of the same kind from the
foreign spa. The form is sent and must neither show nor touch anything of the foreign spa.
"""

import re
from dataclasses import dataclass, field
from html.parser import HTMLParser
from urllib.parse import urlsplit

from django.contrib.auth import get_user_model
from django_scopes import scopes_disabled

from spas.models import Membership

from .matrix_checks import (
    UUID_TEXT,
    changes,
    cross_tenant_references,
    fingerprint,
    leaked,
    rolled_back,
    rows_mentioning,
)
from .tenancy_checks import tenant_models

TEXT_TYPES = {"text", "search", "hidden", "password", "color", ""}
FILLERS = {
    "date": "2026-03-02",
    "datetime-local": "2026-03-02T10:00",
    "time": "10:00",
    "email": "matrix.probe@example.com",
    "url": "https://example.com/",
    "tel": "617-555-0100",
    "number": "1",
    "text": "Matrix probe",
}
# Selects whose options are integer primary keys, by field name: which model they list.
INTEGER_CHOICES = {
    "assignee": "spas.User",
    "owner": "spas.User",
    "template": "outreach.LetterTemplate",
    "clinicians": "partners.Clinician",
    "contacts": "partners.OfficeContact",
}


@dataclass
class Field:
    name: str
    kind: str  # input type, "select", "select-multiple" or "textarea"
    value: str = ""
    required: bool = False
    checked: bool = False
    options: list = field(default_factory=list)  # [(value, selected)]
    attrs: dict = field(default_factory=dict)


@dataclass
class Form:
    method: str
    action: str
    fields: list = field(default_factory=list)
    has_plain_submit: bool = False

    def identity(self):
        return (self.method, self.action, tuple(sorted({f.name for f in self.fields})))


class FormParser(HTMLParser):
    def __init__(self, page_path):
        super().__init__(convert_charrefs=True)
        self.page_path = page_path
        self.forms = []
        self._form = None
        self._select = None
        self._textarea = None

    def handle_starttag(self, tag, attrs):
        attrs = {name: (value if value is not None else "") for name, value in attrs}
        if tag == "form":
            if attrs.get("hx-post"):
                method, action = "post", attrs["hx-post"]
            elif attrs.get("hx-get"):
                method, action = "get", attrs["hx-get"]
            else:
                method, action = (attrs.get("method") or "get").lower(), attrs.get("action") or self.page_path
            self._form = Form(method=method, action=urlsplit(action).path or self.page_path)
            self.forms.append(self._form)
            return
        if self._form is None:
            return
        name = attrs.get("name")
        is_submit = (tag == "button" and (attrs.get("type") or "submit") == "submit") or (
            tag == "input" and (attrs.get("type") or "") == "submit"
        )
        if is_submit and not name:
            self._form.has_plain_submit = True
        if tag == "input" and name:
            kind = (attrs.get("type") or "text").lower()
            if kind in ("submit", "button", "reset", "image", "file"):
                if kind == "submit" and not any(f.kind == "submit" for f in self._form.fields):
                    self._form.fields.append(Field(name=name, kind="submit", value=attrs.get("value", "")))
                return
            self._form.fields.append(
                Field(
                    name=name,
                    kind=kind,
                    value=attrs.get("value", "on" if kind in ("checkbox", "radio") else ""),
                    required="required" in attrs,
                    checked="checked" in attrs,
                    attrs=attrs,
                )
            )
        elif tag == "button" and name and (attrs.get("type") or "submit") == "submit":
            if not any(f.kind == "submit" for f in self._form.fields):
                self._form.fields.append(Field(name=name, kind="submit", value=attrs.get("value", "")))
        elif tag == "select" and name:
            self._select = Field(
                name=name, kind="select-multiple" if "multiple" in attrs else "select", required="required" in attrs
            )
            self._form.fields.append(self._select)
        elif tag == "option" and self._select is not None:
            self._select.options.append((attrs.get("value", ""), "selected" in attrs))
        elif tag == "textarea" and name:
            self._textarea = Field(name=name, kind="textarea", required="required" in attrs)
            self._form.fields.append(self._textarea)

    def handle_endtag(self, tag):
        if tag == "form":
            self._form = None
        elif tag == "select":
            self._select = None
        elif tag == "textarea":
            self._textarea = None

    def handle_data(self, data):
        if self._textarea is not None:
            self._textarea.value += data


def forms_on(html, page_path):
    parser = FormParser(page_path)
    parser.feed(html)
    return parser.forms


def filled(form):
    """{name: [values]} as a person submitting the form unchanged (plus the required boxes) would send it."""
    data = {}
    radios_done = set()
    for f in form.fields:
        values = data.setdefault(f.name, [])
        if f.kind == "checkbox":
            if f.checked or f.required:
                values.append(f.value)
        elif f.kind == "radio":
            if f.name in radios_done:
                continue
            group = [g for g in form.fields if g.name == f.name and g.kind == "radio"]
            chosen = next((g for g in group if g.checked), group[0])
            values.append(chosen.value)
            radios_done.add(f.name)
        elif f.kind in ("select", "select-multiple"):
            selected = [value for value, is_selected in f.options if is_selected]
            if not any(selected) and (f.required or not selected):
                selected = [value for value, _selected in f.options if value][:1]
            values.extend(selected)
        elif f.kind == "submit":
            if form.has_plain_submit:
                continue  # a named button (like "add a step") is not what a plain submit sends
            values.append(f.value)
        else:
            value = f.value
            if not value and f.required:
                value = FILLERS.get(f.kind, FILLERS["text"])
                if f.kind == "number" and f.attrs.get("min"):
                    value = f.attrs["min"]
                elif f.attrs.get("inputmode") in ("decimal", "numeric"):
                    value = "10"
            values.append(value)
    return {name: values for name, values in data.items() if values}


@dataclass
class Translation:
    """Home spa identifiers → a foreign row's identifier of the same model."""

    public: dict  # uuid text → uuid text
    integers: dict  # model label → ({home pks as text}, foreign pk as text)
    foreign_ids: set

    def swap(self, name, value):
        if value in self.public:
            return self.public[value]
        for found in UUID_TEXT.findall(value):  # an id inside a composite value, e.g. "clinician:<uuid>"
            if found in self.public:
                return value.replace(found, self.public[found])
        label = INTEGER_CHOICES.get(name)
        if label and value.isdigit() and value in self.integers.get(label, ((), None))[0]:
            return self.integers[label][1]
        return None


def translation_between(home, foreign, foreign_owner):
    public, integers = {}, {}
    user_model = get_user_model()
    with scopes_disabled():
        for model in tenant_models():
            names = {f.name for f in model._meta.concrete_fields}
            counterpart = model._base_manager.filter(spa=foreign).order_by("pk").first()
            if counterpart is None:
                continue
            home_rows = model._base_manager.filter(spa=home)
            if "public_id" in names:
                for public_id in home_rows.values_list("public_id", flat=True):
                    public[str(public_id)] = str(counterpart.public_id)
            integers[model._meta.label] = (
                {str(pk) for pk in home_rows.values_list("pk", flat=True)},
                str(counterpart.pk),
            )
        members = Membership._base_manager.filter(spa=home).values_list("user_id", flat=True)
        integers[user_model._meta.label] = ({str(pk) for pk in members}, str(foreign_owner.pk))
        foreign_ids = set(public.values())
        for model in tenant_models():
            if any(f.name == "public_id" for f in model._meta.concrete_fields):
                foreign_ids.update(
                    str(v) for v in model._base_manager.filter(spa=foreign).values_list("public_id", flat=True)
                )
    return Translation(public=public, integers=integers, foreign_ids=foreign_ids)


def _foreign_values(f, form, values, translation):
    """The field's values with each home id swapped; when none is, the foreign twin of an option that is."""
    new_values = [translation.swap(f.name, value) or value for value in values]
    if new_values != values or f.kind not in ("select", "select-multiple", "checkbox", "radio"):
        return new_values
    options = [value for value, _selected in f.options] or [
        g.value for g in form.fields if g.name == f.name and g.kind == f.kind
    ]
    twin = next((translation.swap(f.name, value) for value in options if translation.swap(f.name, value)), None)
    if twin is None:
        return values
    return [twin] if f.kind in ("select", "radio") else [*values, twin]


def foreign_variants(form, data, translation):
    """[(field name or "all", data, injected ids)]: each id-bearing field swapped alone, then all together."""
    per_field = {}
    for f in form.fields:
        if f.name in per_field:
            continue
        values = data.get(f.name, [])
        new_values = _foreign_values(f, form, values, translation)
        if new_values != values:
            per_field[f.name] = new_values
    variants = []
    for name, new_values in per_field.items():
        injected = set(new_values) - set(data.get(name, []))
        variants.append((name, {**data, name: new_values}, injected))
    if len(per_field) > 1:
        injected = set().union(*(injected for _name, _data, injected in variants))
        variants.append(("all", {**data, **per_field}, injected))
    return variants


@dataclass
class InjectionReport:
    pages: int = 0
    forms: int = 0
    submissions: list = field(default_factory=list)  # (method, action, own status, foreign status)
    failures: list = field(default_factory=list)

    def fail(self, message):
        self.failures.append(message)


def send_form(client, method, action, data):
    if method == "get":
        return client.get(action, data)
    return client.post(action, data)


def inject_foreign_ids(*, client, pages, allowed_prefix, translation, home, secrets, skip_actions=()):
    """Submit every form on ``pages`` with foreign ids in place of the home spa's, and check the answers."""
    report = InjectionReport()
    seen = set()
    for page in pages:
        response = client.get(page)
        if response.status_code != 200 or "html" not in response.get("Content-Type", ""):
            continue
        report.pages += 1
        for form in forms_on(response.content.decode(), page):
            if not form.action.startswith(allowed_prefix) or form.identity() in seen:
                continue
            if any(re.search(pattern, form.action) for pattern in skip_actions):
                continue
            seen.add(form.identity())
            data = filled(form)
            variants = foreign_variants(form, data, translation)
            if not variants:
                continue
            report.forms += 1
            with rolled_back():
                own = send_form(client, form.method, form.action, data)
            for label, foreign_data, injected in variants:
                _submit_variant(report, client, form, label, foreign_data, injected, own, translation, home, secrets)
    return report


def _new_reads(spa, after_id):
    """Audit events written since ``after_id`` are harmless if they are all reads of the spa's own rows."""
    from infra.models import AuditEvent

    with scopes_disabled():
        events = list(AuditEvent._base_manager.filter(id__gt=after_id).values_list("spa_id", "action"))
    return bool(events) and all(spa_id == spa.pk and action.endswith(".viewed") for spa_id, action in events)


def _last_audit_id():
    from infra.models import AuditEvent

    with scopes_disabled():
        return AuditEvent._base_manager.order_by("-id").values_list("id", flat=True).first() or 0


def _submit_variant(report, client, form, label, foreign_data, injected, own, translation, home, secrets):
    what = f"{form.method.upper()} {form.action} with a foreign {label} {sorted(injected)}"
    with rolled_back():
        before, last_audit = fingerprint(), _last_audit_id()
        answer = send_form(client, form.method, form.action, foreign_data)
        changed = changes(before, fingerprint())
        if changed and all(c.startswith("infra.AuditEvent ") for c in changed) and _new_reads(home, last_audit):
            changed = []  # the page was shown again: a read of our own rows, audited as such
        crossing = cross_tenant_references() + rows_mentioning(home, translation.foreign_ids) if changed else []
    report.submissions.append((form.method, form.action, label, own.status_code, answer.status_code))
    if answer.status_code >= 500:
        report.fail(f"{what} → {answer.status_code}")
    shown = leaked(answer, secrets)
    injected_ids = set(UUID_TEXT.findall(" ".join(injected)))  # echoing what was sent is no leak
    other_ids = set(UUID_TEXT.findall(answer.content.decode(errors="replace"))) & (
        translation.foreign_ids - injected_ids
    )
    if shown or other_ids:
        report.fail(f"{what} shows {shown or sorted(other_ids)}")
    if changed:
        report.fail(f"{what} changed rows: {changed}" + "".join(f"; {problem}" for problem in crossing))
