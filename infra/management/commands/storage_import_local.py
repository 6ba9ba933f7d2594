"""manage.py storage_import_local FOLDER — copy files kept on local disk into the bucket, under the same names.

For a deployment that moves from local files (MEDIA_ROOT) to object storage: the rows keep their file names, so
once the files are in the bucket under those names every link works again. Idempotent: a file already in the
bucket is left alone, so an interrupted copy is finished by running it again.
"""

from pathlib import Path

from django.core.files import File
from django.core.files.storage import storages
from django.core.management.base import BaseCommand, CommandError
from storages.backends.s3 import S3Storage


class Command(BaseCommand):
    help = "Copy the files under FOLDER (the old MEDIA_ROOT) into the bucket under the same names."

    def add_arguments(self, parser):
        parser.add_argument("folder", help="The folder that was MEDIA_ROOT, e.g. /app/media.")

    def handle(self, *args, folder, **options):
        storage = storages["default"]
        if not isinstance(storage, S3Storage):
            raise CommandError("Files are still stored on local disk: set AWS_STORAGE_BUCKET_NAME first.")
        root = Path(folder)
        if not root.is_dir():
            raise CommandError(f"{folder} is not a folder.")
        copied = kept = 0
        for path in sorted(found for found in root.rglob("*") if found.is_file()):
            name = path.relative_to(root).as_posix()
            if storage.exists(name):
                kept += 1
                continue
            with path.open("rb") as handle:
                saved = storage.save(name, File(handle))
            if saved != name:  # written meanwhile by someone else; ours went beside it
                raise CommandError(f"{name} appeared in the bucket during the copy; it was saved as {saved}.")
            copied += 1
        self.stdout.write(self.style.SUCCESS(f"Copied {copied} files into {storage.bucket_name}; {kept} were there."))
