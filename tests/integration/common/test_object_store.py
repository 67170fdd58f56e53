"""ObjectStore behaviour, the same for the local-disk and the S3 implementation."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import SecretStr

from reelhouse.common.settings import S3Settings, StorageSettings
from reelhouse.common.storage import (
    ObjectNotFoundError,
    ObjectStore,
    StorageUnavailableError,
    build_object_store,
)
from tests.support.ports import free_port

PAYLOAD = bytes(range(256)) * 4096  # 1 MiB, larger than one read chunk, every byte value


@pytest.fixture(params=["local", "s3"])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> ObjectStore:
    if request.param == "local":
        settings = StorageSettings(backend="local", local_root=tmp_path / "objects")
    else:
        settings = request.getfixturevalue("s3_store_settings")
    object_store = build_object_store(settings)
    await object_store.ensure_ready()
    return object_store


async def _read(store: ObjectStore, key: str, start: int = 0, end: int | None = None) -> bytes:
    return b"".join([chunk async for chunk in store.read_range(key, start, end)])


def _file(tmp_path: Path, data: bytes, name: str = "upload.bin") -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


async def test_put_then_stat_and_read_returns_same_bytes(
    store: ObjectStore, tmp_path: Path
) -> None:
    info = await store.put_file(
        "outputs/job1/0.mp4", _file(tmp_path, PAYLOAD), content_type="video/mp4"
    )

    assert info.size == len(PAYLOAD)
    assert info.content_type == "video/mp4"
    assert info.etag
    stat = await store.stat("outputs/job1/0.mp4")
    assert (stat.size, stat.etag, stat.content_type) == (info.size, info.etag, info.content_type)
    assert await _read(store, "outputs/job1/0.mp4") == PAYLOAD


@pytest.mark.parametrize(
    ("start", "end"),
    [(0, 0), (0, 99), (100, 199), (300_000, 700_000), (len(PAYLOAD) - 1, len(PAYLOAD) - 1)],
)
async def test_read_range_returns_inclusive_slice(
    store: ObjectStore, tmp_path: Path, start: int, end: int
) -> None:
    await store.put_file("r/obj", _file(tmp_path, PAYLOAD), content_type="application/octet-stream")

    assert await _read(store, "r/obj", start, end) == PAYLOAD[start : end + 1]


@pytest.mark.parametrize("start", [0, 1, 262_144, len(PAYLOAD) - 10])
async def test_read_range_without_end_reads_to_last_byte(
    store: ObjectStore, tmp_path: Path, start: int
) -> None:
    await store.put_file("r/obj", _file(tmp_path, PAYLOAD), content_type="application/octet-stream")

    assert await _read(store, "r/obj", start) == PAYLOAD[start:]


async def test_stat_of_missing_key_raises_not_found(store: ObjectStore) -> None:
    with pytest.raises(ObjectNotFoundError):
        await store.stat("outputs/missing/0.mp4")


async def test_read_of_missing_key_raises_not_found(store: ObjectStore) -> None:
    with pytest.raises(ObjectNotFoundError):
        await _read(store, "outputs/missing/0.mp4")


async def test_overwrite_same_key_keeps_one_object_with_new_content(
    store: ObjectStore, tmp_path: Path
) -> None:
    await store.put_file("k/0.png", _file(tmp_path, b"first version"), content_type="image/png")
    second = await store.put_file(
        "k/0.png", _file(tmp_path, b"second", "second.bin"), content_type="image/webp"
    )

    stat = await store.stat("k/0.png")
    assert (stat.size, stat.etag, stat.content_type) == (6, second.etag, "image/webp")
    assert await _read(store, "k/0.png") == b"second"


async def test_overwrite_leaves_one_local_file(tmp_path: Path) -> None:
    root = tmp_path / "objects"
    store = build_object_store(StorageSettings(backend="local", local_root=root))
    await store.ensure_ready()
    for n in range(3):
        await store.put_file("k/0.png", _file(tmp_path, b"x" * (n + 1)), content_type="image/png")

    assert [p.name for p in (root / "data" / "k").iterdir()] == ["0.png"]
    assert list((root / "tmp").iterdir()) == []


async def test_overwrite_leaves_one_s3_object(
    s3_store_settings: StorageSettings, tmp_path: Path
) -> None:
    from minio import Minio

    store = build_object_store(s3_store_settings)
    for n in range(3):
        await store.put_file("k/0.png", _file(tmp_path, b"x" * (n + 1)), content_type="image/png")

    s3 = s3_store_settings.s3
    client = Minio(
        s3.endpoint,
        access_key=s3.access_key.get_secret_value(),
        secret_key=s3.secret_key.get_secret_value(),
        secure=False,
    )
    names = [o.object_name for o in client.list_objects(s3.bucket, recursive=True)]
    assert names == ["k/0.png"]


async def test_delete_removes_object_and_is_idempotent(store: ObjectStore, tmp_path: Path) -> None:
    await store.put_file("d/0.jpg", _file(tmp_path, b"jpeg"), content_type="image/jpeg")

    await store.delete("d/0.jpg")
    await store.delete("d/0.jpg")

    with pytest.raises(ObjectNotFoundError):
        await store.stat("d/0.jpg")


async def test_empty_object_round_trips(store: ObjectStore, tmp_path: Path) -> None:
    info = await store.put_file("e/empty", _file(tmp_path, b""), content_type="text/plain")

    assert info.size == 0
    assert await _read(store, "e/empty") == b""


async def test_unreachable_s3_raises_storage_unavailable(tmp_path: Path) -> None:
    settings = StorageSettings(
        backend="s3",
        s3=S3Settings(
            endpoint=f"127.0.0.1:{free_port()}",
            access_key=SecretStr("nobody"),
            secret_key=SecretStr("nothing"),
            bucket="nowhere",
        ),
    )
    store = build_object_store(settings)

    with pytest.raises(StorageUnavailableError):
        await store.ensure_ready()
    with pytest.raises(StorageUnavailableError):
        await store.stat("k")
    with pytest.raises(StorageUnavailableError):
        await store.put_file("k", _file(tmp_path, b"data"), content_type="text/plain")
    with pytest.raises(StorageUnavailableError):
        await _read(store, "k")


async def test_wrong_s3_credentials_raise_storage_unavailable(s3_settings: S3Settings) -> None:
    bad = s3_settings.model_copy(update={"secret_key": SecretStr("wrong")})
    store = build_object_store(StorageSettings(backend="s3", s3=bad))

    with pytest.raises(StorageUnavailableError):
        await store.stat("k")


@pytest.mark.parametrize("key", ["", "/abs", "../escape", "a/../../b", "dir/"])
async def test_local_store_rejects_unsafe_keys(tmp_path: Path, key: str) -> None:
    store = build_object_store(StorageSettings(backend="local", local_root=tmp_path / "objects"))

    with pytest.raises(ValueError, match="invalid object key"):
        await store.stat(key)


async def test_read_range_end_past_last_byte_stops_at_last_byte(
    store: ObjectStore, tmp_path: Path
) -> None:
    await store.put_file("r/small", _file(tmp_path, b"0123456789"), content_type="text/plain")

    assert await _read(store, "r/small", 5, 1000) == b"56789"


async def test_partial_read_then_close_releases_the_object(
    store: ObjectStore, tmp_path: Path
) -> None:
    await store.put_file("r/obj", _file(tmp_path, PAYLOAD), content_type="application/octet-stream")

    chunks = store.read_range("r/obj")
    first = await anext(chunks)
    await chunks.aclose()  # type: ignore[attr-defined]

    assert PAYLOAD.startswith(first)
    await store.delete("r/obj")


@pytest.mark.parametrize("key", ["outputs/job1", "outputs/job1/0.mp4/inner"])
async def test_key_that_is_a_prefix_or_passes_through_an_object_is_not_found(
    store: ObjectStore, tmp_path: Path, key: str
) -> None:
    await store.put_file("outputs/job1/0.mp4", _file(tmp_path, b"video"), content_type="video/mp4")

    with pytest.raises(ObjectNotFoundError):
        await store.stat(key)
    with pytest.raises(ObjectNotFoundError):
        await _read(store, key)
