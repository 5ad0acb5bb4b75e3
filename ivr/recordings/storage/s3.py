"""Recordings in S3-compatible object storage (IVR_RECORDINGS_URL=s3://bucket/prefix) through
boto3. The endpoint, region and credentials come from boto3's usual sources (AWS_ENDPOINT_URL,
AWS_DEFAULT_REGION, AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, a profile or an instance role).
Every object is written with server-side encryption (IVR_RECORDINGS_S3_SSE, AES256 by default)
unless the setting says the store offers none; timeouts are bounded and retries few."""
from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from ivr.errors import StorageError
from ivr.recordings.storage.base import checked_key

CLIENT_CONFIG = Config(connect_timeout=5, read_timeout=30, retries={"max_attempts": 2, "mode": "standard"})


class S3Store:
    name = "s3"

    def __init__(self, url: str, sse: str = "AES256", client=None):
        parts = urlsplit(url)
        self.bucket, self.prefix = parts.netloc, parts.path.strip("/")
        self.sse = None if sse == "none" else sse
        self.client = client or boto3.client("s3", config=CLIENT_CONFIG)

    def object_key(self, key: str) -> str:
        key = checked_key(key)
        return f"{self.prefix}/{key}" if self.prefix else key

    def put(self, key: str, source: Path, content_type: str) -> None:
        extra = {"ContentType": content_type}
        if self.sse:
            extra["ServerSideEncryption"] = self.sse
        with open(source, "rb") as data:
            self._call("store", key, self.client.put_object, Bucket=self.bucket, Key=self.object_key(key),
                       Body=data, **extra)

    def read(self, key: str, start: int | None = None, end: int | None = None) -> bytes:
        extra = {} if start is None else {"Range": f"bytes={start}-{'' if end is None else end}"}
        answer = self._call("read", key, self.client.get_object, Bucket=self.bucket, Key=self.object_key(key),
                            **extra)
        return answer["Body"].read()

    def size(self, key: str) -> int | None:
        try:
            return self.client.head_object(Bucket=self.bucket, Key=self.object_key(key))["ContentLength"]
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                return None
            raise StorageError(f"S3 would not say how big {self.where(key)} is: {_code(error)}") from None
        except BotoCoreError as error:
            raise StorageError(f"S3 unreachable asking about {self.where(key)}: {error}") from None

    def encryption(self, key: str) -> str | None:
        """The server-side encryption S3 reports for the object (AES256, aws:kms) or None."""
        answer = self._call("inspect", key, self.client.head_object, Bucket=self.bucket, Key=self.object_key(key))
        return answer.get("ServerSideEncryption")

    def delete(self, key: str) -> None:
        self._call("delete", key, self.client.delete_object, Bucket=self.bucket, Key=self.object_key(key))

    def where(self, key: str) -> str:
        return f"s3://{self.bucket}/{self.object_key(key)}"

    def _call(self, doing: str, key: str, method, **kwargs):
        try:
            return method(**kwargs)
        except ClientError as error:
            raise StorageError(f"S3 refused to {doing} {self.where(key)}: {_code(error)}") from None
        except BotoCoreError as error:
            raise StorageError(f"S3 unreachable to {doing} {self.where(key)}: {error}") from None


def _code(error: ClientError) -> str:
    detail = error.response.get("Error", {})
    return f"{detail.get('Code', '?')} {detail.get('Message', '')}".strip()
