"""The shape of a ``rebuild_… [--spa slug] [--check]`` command for something kept per spa (the referral figures,
partner health): spa by spa inside each spa's scope, either rebuilt or compared with a fresh computation."""

from abc import ABCMeta, abstractmethod

from django.core.management.base import BaseCommand, CommandError
from django_scopes import scope, scopes_disabled

from .models import Spa


class SpaRebuildCommand(BaseCommand, metaclass=ABCMeta):
    """Subclasses say what is kept (``what``, counted in ``unit``), how to rebuild one spa's (``rebuild_spa``:
    how many ``unit`` it wrote) and how it differs from ``fresh`` (``differences``: a list, empty when right)."""

    what = ""  # "Figures"
    unit = ""  # "rows"
    fresh = ""  # "a fresh count"
    check_help = ""

    @abstractmethod
    def rebuild_spa(self, spa):
        """Rebuild what is kept for ``spa`` (inside its scope); return how many ``unit`` were written."""

    @abstractmethod
    def differences(self, spa):
        """How what is kept for ``spa`` differs from ``fresh``: readable lines, empty when it is right."""

    def add_arguments(self, parser):
        parser.add_argument("--spa", metavar="SLUG", help="Only this spa (default: every spa, one by one).")
        parser.add_argument("--check", action="store_true", help=self.check_help)

    def handle(self, *args, spa=None, check=False, **options):
        with scopes_disabled():  # a job over all spas: it lists them, then works inside each one's scope
            spas = Spa.objects.order_by("slug")
            if spa:
                spas = spas.filter(slug=spa)
            spas = list(spas)
        if spa and not spas:
            raise CommandError(f"No spa with the slug {spa!r}.")
        differing = []
        for each in spas:
            with scope(spa=each):
                if not check:
                    self.stdout.write(f"{each.slug}: {self.rebuild_spa(each)} {self.unit}")
                    continue
                wrong = self.differences(each)
                if wrong:
                    differing.append(each.slug)
                    line = f"{each.slug}: {len(wrong)} {self.unit} differ from {self.fresh}, e.g. {wrong[0]}"
                    self.stdout.write(line)
        if differing:
            raise CommandError(f"{len(differing)} spa(s) need a rebuild: " + ", ".join(differing))
        self.stdout.write(self.style.SUCCESS(f"{self.what} {'checked' if check else 'rebuilt'}."))
