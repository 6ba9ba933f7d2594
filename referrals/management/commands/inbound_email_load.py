"""manage.py inbound_email_load <path> [--spa slug] — take a saved email (.eml) or a mailbox (mbox) as if it had
arrived at the spas' referral addresses: a draft per message, as the signed webhook makes them.

For local use and for messages a provider could not deliver: no signature is asked for (whoever runs manage.py
can write to the database anyway). Without ``--spa`` each message goes to the spas whose referral addresses
(``<slug>@<INBOUND_DOMAIN>``) it was sent to; with it, to that spa whatever the recipients. A message taken before
(same Message-ID) creates nothing; a malformed or oversized one is skipped. Prints a line per message.
"""

import mailbox
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from referrals.inbound import selectors, services
from referrals.inbound.mime import MalformedMessage, email_from_bytes
from spas.models import Spa

ACTOR_LABEL = "manage.py inbound_email_load"


def _messages(path):
    """The raw messages in ``path``: every message of an mbox (it starts with a "From " line), else the file."""
    with path.open("rb") as handle:
        is_mbox = handle.read(5) == b"From "
    if not is_mbox:
        yield "1", path.read_bytes()
        return
    box = mailbox.mbox(str(path), create=False)
    try:
        for position, key in enumerate(box.iterkeys(), 1):
            yield str(position), box.get_bytes(key)
    finally:
        box.close()


class Command(BaseCommand):
    help = "Make drafts from a saved email (.eml) or an mbox, as if they had reached the spas' referral addresses."

    def add_arguments(self, parser):
        parser.add_argument("path", help="An .eml file or an mbox file.")
        parser.add_argument("--spa", help="The spa's slug: every message goes to this spa, whatever its recipients.")

    def handle(self, *args, path, spa=None, **options):
        source = Path(path)
        if not source.is_file():
            raise CommandError(f"No such file: {source}")
        chosen = None
        if spa:
            chosen = Spa.objects.filter(slug=spa).first()
            if chosen is None:
                raise CommandError(f"No spa with the slug {spa!r}.")
        totals = {"created": 0, "already there": 0, "skipped": 0}
        for label, raw in _messages(source):
            outcome = self._load(label, raw, chosen)
            totals[outcome] += 1
        summary = ", ".join(f"{count} {name}" for name, count in totals.items())
        self.stdout.write(f"{summary}.")

    def _load(self, label, raw, chosen):
        if len(raw) > settings.INBOUND_EMAIL_MAX_BYTES:
            self.stdout.write(f"Message {label}: skipped, larger than {settings.INBOUND_EMAIL_MAX_BYTES} bytes.")
            return "skipped"
        try:
            message = email_from_bytes(raw)
        except MalformedMessage as error:
            self.stdout.write(f"Message {label}: skipped, malformed ({error})")
            return "skipped"
        spas = [chosen] if chosen else selectors.spas_for_recipients(message.recipients)
        if not spas:
            hint = "" if selectors.inbound_domain() else " (INBOUND_DOMAIN is not set: name the spa with --spa)"
            self.stdout.write(f"Message {label}: skipped, no spa's referral address among its recipients{hint}.")
            return "skipped"
        results = services.inbound_email_accept(message=message, spas=spas, actor_label=ACTOR_LABEL)
        for spa, draft, created in results:
            state = "draft created" if created else "already there"
            self.stdout.write(f"Message {label} from {message.sender}: {state} in {spa.slug} ({draft.public_id}).")
        return "created" if any(created for _spa, _draft, created in results) else "already there"
