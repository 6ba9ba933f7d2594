"""manage.py inbound_sms_number <spa slug> [<number>] [--clear] — show, assign or take away a spa's referral text
number.

The number is one the operator rents at the SMS provider (Twilio) and points at ``/inbound/sms/``; a text to it
becomes a draft in this spa. It is the operator's to assign, not the spa's to type: a spa that could claim any
number could receive another spa's texts. Typed in any form the spa's country reads ("(617) 555-0123"), stored in
E.164; refused when it is not a real number or is another spa's. Audited.
"""

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django_scopes import scope

from referrals.inbound import selectors, services
from spas.models import Spa


class Command(BaseCommand):
    help = "Show, assign (a number) or take away (--clear) a spa's referral text number."

    def add_arguments(self, parser):
        parser.add_argument("spa", help="The spa's slug.")
        parser.add_argument("number", nargs="?", default=None, help="The provider number, e.g. +16175550123.")
        parser.add_argument("--clear", action="store_true", help="Take the spa's number away.")

    def handle(self, *args, spa, number=None, clear=False, **options):
        chosen = Spa.objects.filter(slug=spa).first()
        if chosen is None:
            raise CommandError(f"No spa with the slug {spa!r}.")
        if number is None and not clear:
            with scope(spa=chosen):
                current = selectors.sms_number_of(chosen)
            self.stdout.write(current or f"{chosen.slug} has no referral text number.")
            return
        try:
            stored = services.inbound_sms_number_assign(
                spa=chosen, number="" if clear else number, actor_label="manage.py inbound_sms_number"
            )
        except ValidationError as error:
            raise CommandError(" ".join(error.messages)) from None
        self.stdout.write(f"{chosen.slug}: {stored or 'no referral text number'}.")
