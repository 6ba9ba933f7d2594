"""manage.py storage_bucket_create — create the private bucket that stored files go to, if it is not there yet.

Idempotent: compose's one-shot ``migrate`` service runs it on every start, so the bucket exists on the stack's
first start and nothing changes after. A bucket this command creates blocks every form of public access; an
existing bucket is left as its owner configured it. With local files (no AWS_STORAGE_BUCKET_NAME) it only
says so.
"""

from botocore.exceptions import ClientError
from django.core.files.storage import storages
from django.core.management.base import BaseCommand, CommandError
from storages.backends.s3 import S3Storage

# S3's default region takes no location constraint; every other region needs one.
DEFAULT_REGION = "us-east-1"
ALREADY_THERE = ("BucketAlreadyOwnedByYou", "BucketAlreadyExists")
NOT_SUPPORTED = ("NotImplemented", "XNotImplemented", "MethodNotAllowed")
NO_PUBLIC_ACCESS = {
    "BlockPublicAcls": True,
    "IgnorePublicAcls": True,
    "BlockPublicPolicy": True,
    "RestrictPublicBuckets": True,
}


def _error_code(error):
    return error.response.get("Error", {}).get("Code", "")


class Command(BaseCommand):
    help = "Create the private S3 bucket for uploads and documents (AWS_STORAGE_BUCKET_NAME) unless it exists."

    def handle(self, *args, **options):
        storage = storages["default"]
        if not isinstance(storage, S3Storage):
            self.stdout.write("Files are stored on local disk (MEDIA_ROOT): there is no bucket to create.")
            return
        client = storage.connection.meta.client
        bucket = storage.bucket_name
        if self._exists(client, bucket):
            self.stdout.write(f"Bucket {bucket} already exists; left as it is.")
            return
        region = client.meta.region_name or DEFAULT_REGION
        location = {} if region == DEFAULT_REGION else {"CreateBucketConfiguration": {"LocationConstraint": region}}
        try:
            client.create_bucket(Bucket=bucket, **location)
        except ClientError as error:
            if _error_code(error) not in ALREADY_THERE:  # another start created it a moment ago
                raise CommandError(f"Could not create bucket {bucket}: {error}") from error
            self.stdout.write(f"Bucket {bucket} already exists; left as it is.")
            return
        self._block_public_access(client, bucket)
        self.stdout.write(self.style.SUCCESS(f"Created the private bucket {bucket}."))

    def _exists(self, client, bucket):
        try:
            client.head_bucket(Bucket=bucket)
        except ClientError as error:
            status = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
            if status == 404:
                return False
            raise CommandError(
                f"Bucket {bucket} cannot be used with these credentials (HTTP {status}): it may belong to another "
                "account, or AWS_ACCESS_KEY_ID may lack access to it."
            ) from error
        return True

    def _block_public_access(self, client, bucket):
        try:
            client.put_public_access_block(Bucket=bucket, PublicAccessBlockConfiguration=NO_PUBLIC_ACCESS)
        except ClientError as error:
            if _error_code(error) not in NOT_SUPPORTED:
                raise CommandError(f"Created bucket {bucket} but could not block public access: {error}") from error
            # Some S3-compatible servers have no such setting; their buckets are private unless a policy says
            # otherwise, and this app never writes one.
            self.stdout.write(f"This server cannot block public access on {bucket}; its objects stay private.")
