"""Looking into the local S3 server's bucket behind the storage (tests/conftest.py: s3_endpoint,
s3_bucket, s3_storage)."""

from tests.conftest import S3_BUCKET


def keys_in(bucket, prefix):
    """The keys under `prefix` (a test's s3_storage) in the test bucket, via a boto3 client."""
    listing = bucket.list_objects_v2(Bucket=S3_BUCKET, Prefix=f"{prefix}/")
    return [entry["Key"] for entry in listing.get("Contents", [])]
