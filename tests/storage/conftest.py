"""A real S3-protocol server for the object storage tests: moto's, in server mode, on a free loopback port.

Every test gets a bucket of its own, created by the same command compose runs (``storage_bucket_create``),
and the default storage switched to the production backend (infra.storage.PrivateS3Storage) pointed at it.
The app talks to the server over HTTP exactly as it would to SeaweedFS or AWS; the tests look into the bucket
with a boto3 client of their own.
"""

import io
import secrets
from dataclasses import dataclass

import boto3
import pytest
from django.core.management import call_command
from django_scopes import scope
from moto.server import ThreadedMotoServer

from ..factories import PracticeFactory

REGION = "us-east-1"
ACCESS_KEY = "storage-tests"
SECRET_KEY = "storage-tests-secret"  # noqa: S105 - the test server accepts any


@pytest.fixture(scope="session")
def s3_endpoint():
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


def s3_storage_setting(endpoint, bucket_name, **options):
    """STORAGES["default"] as production builds it from AWS_STORAGE_BUCKET_NAME and AWS_S3_ENDPOINT_URL."""
    return {
        "BACKEND": "infra.storage.PrivateS3Storage",
        "OPTIONS": {
            "bucket_name": bucket_name,
            "endpoint_url": endpoint,
            "region_name": REGION,
            "addressing_style": "path",
            "access_key": ACCESS_KEY,
            "secret_key": SECRET_KEY,
            **options,
        },
    }


@dataclass
class Bucket:
    name: str
    client: object

    def keys(self):
        listed = self.client.list_objects_v2(Bucket=self.name)
        return sorted(entry["Key"] for entry in listed.get("Contents", []))

    def read(self, key):
        return self.client.get_object(Bucket=self.name, Key=key)["Body"].read()

    def public_grants(self, key):
        """Grants of the object to anyone beyond its owner (AllUsers, AuthenticatedUsers)."""
        grants = self.client.get_object_acl(Bucket=self.name, Key=key)["Grants"]
        return [grant for grant in grants if grant["Grantee"].get("Type") == "Group"]


@pytest.fixture
def s3_client(s3_endpoint):
    return boto3.client(
        "s3",
        endpoint_url=s3_endpoint,
        region_name=REGION,
        aws_access_key_id=ACCESS_KEY,
        aws_secret_access_key=SECRET_KEY,
    )


@pytest.fixture
def bucket(s3_endpoint, s3_client, settings):
    """A fresh bucket, made by the app's own command, and the default storage pointed at it."""
    name = f"spa-files-{secrets.token_hex(6)}"
    settings.STORAGES = {**settings.STORAGES, "default": s3_storage_setting(s3_endpoint, name)}
    call_command("storage_bucket_create", stdout=io.StringIO())
    return Bucket(name=name, client=s3_client)


@pytest.fixture
def practice(spa):
    with scope(spa=spa):
        return PracticeFactory(spa=spa, name="Brookline Dermatology", specialty="dermatology")


@pytest.fixture
def local_files(settings):
    """Every file under MEDIA_ROOT: with a bucket configured, nothing may land on local disk."""

    def files():
        root = settings.MEDIA_ROOT
        return sorted(path for path in root.rglob("*") if path.is_file()) if root.exists() else []

    return files
