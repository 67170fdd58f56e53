"""Create the bucket in the S3 stand-in, waiting (bounded) until the server takes writes."""

import io
import os
import sys
import time

import urllib3
from minio import Minio
from minio.error import MinioException

client = Minio(
    os.environ["S3_ENDPOINT"],
    access_key=os.environ["S3_ACCESS_KEY"],
    secret_key=os.environ["S3_SECRET_KEY"],
    secure=False,
    http_client=urllib3.PoolManager(timeout=urllib3.Timeout(connect=1.0, read=5.0), retries=False),
)
bucket = os.environ.get("S3_BUCKET", "reelhouse")
deadline = time.monotonic() + float(os.environ.get("S3_WAIT_SECONDS", "90"))
while True:
    try:
        if not client.bucket_exists(bucket):
            client.make_bucket(bucket)
        # SeaweedFS answers 500 on writes for a moment after start: wait for a real write
        client.put_object(bucket, ".ready-probe", io.BytesIO(b"ok"), 2)
        client.remove_object(bucket, ".ready-probe")
        print(f"bucket {bucket} ready", flush=True)
        sys.exit(0)
    except (MinioException, urllib3.exceptions.HTTPError, OSError) as exc:
        if time.monotonic() > deadline:
            sys.exit(f"bucket {bucket} not ready: {exc!r}")
        time.sleep(0.5)
