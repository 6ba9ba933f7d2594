"""``manage.py nppes_load <npidata_pfile.csv>``: load the monthly NPPES data file for offline prospect searches."""

import time

from django.core.management.base import BaseCommand, CommandError

from partners.prospecting.nppes_file import NppesFileError, nppes_load


class Command(BaseCommand):
    help = "Replace the local NPI registry table with the providers of an NPPES data file (CSV)."

    def add_arguments(self, parser):
        parser.add_argument("path", help="The npidata_pfile_*.csv from the monthly NPPES download.")
        parser.add_argument("--progress-every", type=int, default=100_000, help="Report progress every N rows.")

    def handle(self, *args, path, progress_every, **options):
        started = time.monotonic()

        def progress(count):
            self.stdout.write(f"{count:,} providers read ({time.monotonic() - started:.0f} s)")

        try:
            # The file is UTF-8 in recent years; errors="replace" keeps a stray byte from stopping a million-row load.
            with open(path, encoding="utf-8", errors="replace", newline="") as stream:
                count = nppes_load(stream, progress=progress, progress_every=max(progress_every, 1))
        except OSError as error:
            raise CommandError(f"Cannot read {path}: {error.strerror}") from error
        except NppesFileError as error:
            raise CommandError(f"{error} Nothing was loaded; the previous data is unchanged.") from error
        self.stdout.write(self.style.SUCCESS(f"Loaded {count:,} providers in {time.monotonic() - started:.0f} s."))
