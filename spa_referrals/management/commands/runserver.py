"""runserver that will not show Django's debug pages beyond this machine.

With DEBUG on, any error page lists the settings and the process environment, and an unknown address lists
every URL pattern. That is fine on 127.0.0.1 and dangerous on 0.0.0.0, so DEBUG together with a
non-loopback address is refused. Static files are WhiteNoise's (whitenoise.runserver_nostatic, whose
command this one extends), as in production.
"""

import ipaddress

from django.conf import settings
from django.core.management.base import CommandError
from whitenoise.runserver_nostatic.management.commands.runserver import Command as WhiteNoiseRunserver

LOOPBACK_NAMES = {"localhost"}


def is_loopback(address):
    if address.lower() in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(address.strip("[]")).is_loopback
    except ValueError:
        return False  # a host name other than localhost may resolve anywhere


class Command(WhiteNoiseRunserver):
    def run(self, **options):
        # handle() has parsed the address by now (self.addr), before anything listens.
        if settings.DEBUG and not is_loopback(self.addr):
            raise CommandError(
                f"DEBUG=1 with HOST={self.addr} would show Django's debug pages (settings, environment) to "
                "anyone who can reach this server. Serve on 127.0.0.1, or leave DEBUG off."
            )
        super().run(**options)
