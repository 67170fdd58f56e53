"""The fault proxy in front of real servers: a stdlib HTTP server, SeaweedFS (minio), NATS."""

from __future__ import annotations

import asyncio
import hashlib
import http.client
import io
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import nats
import pytest
import urllib3
from minio import Minio
from minio.error import S3Error, ServerError
from nats.js.api import StreamConfig

from reelhouse.common.settings import StorageSettings
from tests.support.faultproxy import FaultMode, FaultProxy
from tests.support.nats import NatsServer
from tests.support.s3 import wait_until_writable

pytestmark = pytest.mark.timeout(90)

BLOB = hashlib.sha256(b"seed").digest() * 8192  # 256 KiB, more than one proxy chunk
NATS_ATTEMPTS = 40


class Origin(BaseHTTPRequestHandler):
    """``GET /blob`` → BLOB; ``POST /echo`` → the body it was sent (keep-alive)."""

    protocol_version = "HTTP/1.1"
    hits = 0

    def do_GET(self) -> None:
        type(self).hits += 1
        self._answer(BLOB)

    def do_POST(self) -> None:
        type(self).hits += 1
        self._answer(self.rfile.read(int(self.headers["Content-Length"])))

    def _answer(self, body: bytes) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def origin() -> Iterator[ThreadingHTTPServer]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Origin)
    server.daemon_threads = True
    Origin.hits = 0
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@pytest.fixture
def proxy(origin: ThreadingHTTPServer) -> Iterator[FaultProxy]:
    with FaultProxy(origin.server_address[1]) as started:
        yield started


def get(proxy: FaultProxy, path: str = "/blob", *, timeout: float = 5.0) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection(proxy.host, proxy.port, timeout=timeout)
    try:
        conn.request("GET", path)
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def ask(conn: http.client.HTTPConnection, path: str) -> bytes:
    conn.request("GET", path)
    return conn.getresponse().read()


def test_pass_forwards_both_ways_on_one_keep_alive_connection(proxy: FaultProxy) -> None:
    conn = http.client.HTTPConnection(proxy.host, proxy.port, timeout=5)
    try:
        conn.request("POST", "/echo", body=BLOB[:100_000])
        assert conn.getresponse().read() == BLOB[:100_000]
        conn.request("GET", "/blob")
        assert conn.getresponse().read() == BLOB
    finally:
        conn.close()
    assert proxy.connections_accepted == 1
    assert proxy.mode is FaultMode.PASS


def test_refuse_cuts_open_connections_refuses_new_ones_then_listens_on_the_same_port(
    proxy: FaultProxy,
) -> None:
    port = proxy.port
    held = http.client.HTTPConnection(proxy.host, port, timeout=5)
    held.request("GET", "/blob")
    assert held.getresponse().read() == BLOB

    proxy.refuse()
    with pytest.raises(ConnectionError):  # the kept-alive connection was aborted
        ask(held, "/blob")
    held.close()
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection((proxy.host, port), timeout=2).close()

    proxy.pass_through()
    assert proxy.port == port
    assert get(proxy) == (200, BLOB)


def test_reset_aborts_open_connections_with_an_rst_and_serves_new_ones(
    proxy: FaultProxy,
) -> None:
    with socket.create_connection((proxy.host, proxy.port), timeout=5) as held:
        for _ in range(100):  # until the proxy holds both legs of the connection
            if proxy.connections_open == 2:
                break
            time.sleep(0.02)
        proxy.reset()
        with pytest.raises(ConnectionResetError):  # an RST, not an orderly end of stream (b"")
            held.recv(1)
    assert proxy.mode is FaultMode.PASS
    assert get(proxy) == (200, BLOB)


def test_blackhole_makes_clients_time_out_and_heals(proxy: FaultProxy) -> None:
    proxy.blackhole()
    conn = http.client.HTTPConnection(proxy.host, proxy.port, timeout=1)
    try:
        conn.request("GET", "/blob")  # connecting succeeds: a partition, not a refusal
        with pytest.raises(TimeoutError):
            conn.getresponse()
    finally:
        conn.close()
    assert Origin.hits == 0

    proxy.pass_through()
    assert get(proxy) == (200, BLOB)


def test_a_blackholed_open_connection_resumes_intact_when_the_partition_heals(
    proxy: FaultProxy,
) -> None:
    conn = http.client.HTTPConnection(proxy.host, proxy.port, timeout=5)
    try:
        conn.request("GET", "/blob")
        assert conn.getresponse().read() == BLOB
        proxy.blackhole()
        conn.request("POST", "/echo", body=b"held back")
        conn.sock.settimeout(1)  # connected by the request above
        with pytest.raises(TimeoutError):
            conn.sock.recv(1)
        conn.sock.settimeout(5)
        proxy.pass_through()
        assert conn.getresponse().read() == b"held back"
    finally:
        conn.close()
    assert proxy.connections_accepted == 1


def test_latency_still_delivers_every_byte(proxy: FaultProxy) -> None:
    proxy.latency(0.05)
    assert get(proxy) == (200, BLOB)
    assert proxy.mode is FaultMode.LATENCY


def test_http_error_answers_s3_xml_without_reaching_the_target_for_count_requests(
    proxy: FaultProxy,
) -> None:
    proxy.slow_down(count=2)
    conn = http.client.HTTPConnection(proxy.host, proxy.port, timeout=5)
    try:
        conn.request("PUT", "/bucket/key", body=BLOB)  # a Content-Length body, read and dropped
        response = conn.getresponse()
        body = response.read()
        assert response.status == 503
        assert response.getheader("Content-Type") == "application/xml"
        assert response.getheader("Connection") == "close"
        assert b"<Code>SlowDown</Code>" in body
        assert b"<Resource>/bucket/key</Resource>" in body
    finally:
        conn.close()
    conn = http.client.HTTPConnection(proxy.host, proxy.port, timeout=5)
    try:
        conn.request("PUT", "/bucket/key", body=iter([BLOB[:1000], BLOB[1000:5000]]))  # chunked
        assert conn.getresponse().status == 503
    finally:
        conn.close()
    assert proxy.requests_faulted == 2
    assert Origin.hits == 0
    assert proxy.mode is FaultMode.PASS  # the count is spent
    assert get(proxy) == (200, BLOB)


def test_http_error_drops_a_connection_that_sends_no_http_and_keeps_serving(
    proxy: FaultProxy,
) -> None:
    proxy.slow_down()
    with socket.create_connection((proxy.host, proxy.port), timeout=5) as garbage:
        garbage.sendall(b"not http at all\r\n\r\n")
        assert garbage.recv(1) == b""
    assert get(proxy)[0] == 503
    assert proxy.requests_faulted == 1


def test_http_error_cuts_a_kept_alive_connection_so_its_next_request_is_faulted(
    proxy: FaultProxy,
) -> None:
    conn = http.client.HTTPConnection(proxy.host, proxy.port, timeout=5)
    try:
        conn.request("GET", "/blob")
        assert conn.getresponse().read() == BLOB
        proxy.internal_error()
        with pytest.raises(ConnectionError):
            ask(conn, "/blob")
    finally:
        conn.close()
    status, body = get(proxy)
    assert status == 500
    assert b"<Code>InternalError</Code>" in body
    assert proxy.requests_faulted == 1


def minio_through(proxy: FaultProxy, storage: StorageSettings) -> Minio:
    s3 = storage.s3
    return Minio(
        proxy.address,
        access_key=s3.access_key.get_secret_value(),
        secret_key=s3.secret_key.get_secret_value(),
        secure=False,
        region=s3.region,
        # no retries: the test sees each answer the proxy gives
        http_client=urllib3.PoolManager(
            timeout=urllib3.Timeout(connect=2.0, read=2.0), retries=False
        ),
    )


def test_seaweedfs_behind_the_proxy_meets_each_fault(s3_store_settings: StorageSettings) -> None:
    seaweed_port = int(s3_store_settings.s3.endpoint.rsplit(":", 1)[1])
    bucket = s3_store_settings.s3.bucket
    # a new SeaweedFS bucket answers 500 InternalError until its volume is ready
    wait_until_writable(s3_store_settings.s3, timeout=30.0)
    with FaultProxy(seaweed_port) as proxy:
        client = minio_through(proxy, s3_store_settings)
        client.put_object(bucket, "a", io.BytesIO(BLOB), len(BLOB))

        proxy.slow_down()
        with pytest.raises(S3Error) as slow:
            client.put_object(bucket, "b", io.BytesIO(BLOB), len(BLOB))
        assert slow.value.code == "SlowDown"
        with pytest.raises(ServerError) as head:  # HEAD: the status only, as S3 answers it
            client.stat_object(bucket, "a")
        assert head.value.status_code == 503

        proxy.internal_error(count=1)
        with pytest.raises(S3Error) as internal:
            client.get_object(bucket, "a")
        assert internal.value.code == "InternalError"
        assert proxy.requests_faulted == 3

        proxy.latency(0.02)
        response = client.get_object(bucket, "a")
        try:
            assert response.read() == BLOB
        finally:
            response.close()
            response.release_conn()

        proxy.refuse()
        with pytest.raises(urllib3.exceptions.NewConnectionError):
            client.stat_object(bucket, "a")

        proxy.blackhole()
        with pytest.raises(urllib3.exceptions.ReadTimeoutError):
            client.stat_object(bucket, "a")

        proxy.pass_through()
        assert client.stat_object(bucket, "a").size == len(BLOB)


async def test_nats_behind_a_blackhole_times_out_and_publishes_after_it_heals(
    nats_server: NatsServer,
) -> None:
    stream, subject = f"drill{uuid.uuid4().hex[:8]}", f"drill.{uuid.uuid4().hex[:8]}"
    direct = await nats.connect(nats_server.url)
    try:
        await direct.jetstream().add_stream(StreamConfig(name=stream, subjects=[f"{subject}.>"]))
        with FaultProxy(nats_server.port) as proxy:
            client = await nats.connect(
                proxy.url("nats"),
                connect_timeout=1,
                reconnect_time_wait=0.2,
                max_reconnect_attempts=-1,
                ping_interval=1,
                max_outstanding_pings=2,
            )
            try:
                js = client.jetstream(timeout=1)
                await js.publish(f"{subject}.before", b"before")

                proxy.blackhole()
                with pytest.raises(nats.errors.TimeoutError):
                    await js.publish(f"{subject}.during", b"during")

                proxy.pass_through()
                ack = None
                for _ in range(NATS_ATTEMPTS):  # the client notices the stale link, reconnects
                    try:
                        ack = await js.publish(f"{subject}.after", b"after")
                        break
                    except (nats.errors.TimeoutError, nats.errors.ConnectionReconnectingError):
                        await asyncio.sleep(0.25)
                assert ack is not None, "no publish succeeded after the partition healed"
                assert ack.stream == stream
            finally:
                await client.close()
        last = await direct.jetstream().get_last_msg(stream, f"{subject}.after")
        assert last.data == b"after"
    finally:
        await direct.close()
