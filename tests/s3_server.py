"""A real S3-compatible server for the publish tests: moto's server mode on
127.0.0.1, started in the test process, as the pandas and s3fs suites do.

Its keys are canaries: the tests check they appear in no message or file.
"""

from __future__ import annotations

import contextlib
import logging
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

CANARY_KEY_ID = "AKIALLMSYNCCANARY0001"
CANARY_SECRET = "llmsync-canary-secret-1b2c3d4e5f60718293a4"


@dataclass(frozen=True)
class S3Server:
    endpoint: str

    @property
    def env(self) -> dict[str, str]:
        """The standard AWS variables a publisher (or a child process) reads."""
        return {
            "AWS_ENDPOINT_URL": self.endpoint,
            "AWS_ACCESS_KEY_ID": CANARY_KEY_ID,
            "AWS_SECRET_ACCESS_KEY": CANARY_SECRET,
            "AWS_REGION": "us-east-1",
            # No instance metadata lookups: there is no EC2 here.
            "AWS_EC2_METADATA_DISABLED": "true",
        }

    def create_bucket(self, name: str) -> None:
        import boto3

        client = boto3.client(
            "s3",
            endpoint_url=self.endpoint,
            aws_access_key_id=CANARY_KEY_ID,
            aws_secret_access_key=CANARY_SECRET,
            region_name="us-east-1",
        )
        client.create_bucket(Bucket=name)


@contextlib.contextmanager
def running_s3_server() -> Iterator[S3Server]:
    from moto.server import ThreadedMotoServer

    # werkzeug logs one line per request: the tests read no request log.
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        with pytest.MonkeyPatch.context() as patch:
            found = S3Server(f"http://{host}:{port}")
            for key, value in found.env.items():
                patch.setenv(key, value)
            yield found
    finally:
        server.stop()


def copy_snapshots(source: Path, target: Path) -> Path:
    """A data folder holding only `source`'s published snapshots (a publish
    reads nothing else), cheap to copy."""
    shutil.copytree(source / "processed", target / "processed")
    return target
