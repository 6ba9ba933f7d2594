"""Object storage: a private S3 bucket for uploads and generated documents when production names one.

The embedded default (and any deployment without AWS_STORAGE_BUCKET_NAME) keeps files on local disk under
MEDIA_ROOT. With a bucket, every process of every host reads and writes the same files, so web and worker
containers no longer need a shared volume.

Either way nothing is ever public: no view links to the storage itself. Referral attachments, signed
authorization forms and generated documents go out through views that check the tenant and audit the read,
streaming the bytes from here; logos through their own view. This class fixes the choices that keep it so,
rather than leaving them to settings: objects carry no ACL (the bucket's own, private, applies), a URL is only
ever a presigned one that lives at most a minute, and a save never overwrites another file of the same name.
"""

from botocore.config import Config
from django.core.exceptions import ImproperlyConfigured
from storages.backends.s3 import S3Storage

PRESIGNED_URL_MAX_SECONDS = 60
PRIVATE_ACLS = (None, "private")
# A file read from the bucket is buffered in memory up to this size, then in a temporary file.
SPOOL_MAX_BYTES = 5 * 1024 * 1024


class PrivateS3Storage(S3Storage):
    """django-storages' S3 backend that refuses to be made public, with timeouts a web request can afford."""

    def get_default_settings(self):
        return {
            **super().get_default_settings(),
            "default_acl": None,
            "querystring_auth": True,
            "querystring_expire": PRESIGNED_URL_MAX_SECONDS,
            "file_overwrite": False,
            "max_memory_size": SPOOL_MAX_BYTES,
            "signature_version": "s3v4",
        }

    def __init__(self, **options):
        super().__init__(**options)
        if self.default_acl not in PRIVATE_ACLS:
            raise ImproperlyConfigured(f"Stored files are private: default_acl {self.default_acl!r} is not allowed.")
        if not self.querystring_auth or self.custom_domain:
            raise ImproperlyConfigured("Stored files are private: their URLs must be presigned, on the bucket itself.")
        if not 0 < self.querystring_expire <= PRESIGNED_URL_MAX_SECONDS:
            raise ImproperlyConfigured(
                f"A presigned URL may live at most {PRESIGNED_URL_MAX_SECONDS} seconds, not {self.querystring_expire}."
            )
        if self.file_overwrite:
            raise ImproperlyConfigured("A stored file is never overwritten by another of the same name.")
        if "client_config" not in options:
            self.client_config = Config(
                s3={"addressing_style": self.addressing_style},
                signature_version=self.signature_version,
                proxies=self.proxies,
                # A web worker waiting on storage is a worker not serving anyone: fail fast, retry a little.
                connect_timeout=5,
                read_timeout=30,
                retries={"max_attempts": 3, "mode": "standard"},
                # Checksums only where S3 requires them: several S3-compatible servers refuse the newer
                # default trailers that boto3 adds to every upload.
                request_checksum_calculation="when_required",
                response_checksum_validation="when_required",
            )
