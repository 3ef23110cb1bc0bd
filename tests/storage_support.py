"""The local S3 server's bucket behind the storage (tests/conftest.py: s3_endpoint, s3_bucket,
s3_storage): its name and keys, and looking into it."""

import boto3

S3_BUCKET = "waba-test-media"
S3_REGION = "us-east-1"
S3_KEYS = ("test-access-key", "test-secret-key")


def s3_client(endpoint):
    """A boto3 client of the S3 server at `endpoint`, with the test keys."""
    access_key, secret_key = S3_KEYS
    return boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name=S3_REGION,
        aws_access_key_id=access_key,
        aws_secret_access_key=secret_key,
    )


def keys_in(bucket, prefix):
    """The keys under `prefix` (a test's s3_storage) in the test bucket, via a boto3 client."""
    listing = bucket.list_objects_v2(Bucket=S3_BUCKET, Prefix=f"{prefix}/")
    return [entry["Key"] for entry in listing.get("Contents", [])]
