"""``composition.ready.v1`` in, a stored film and ``composition.assembled.v1`` (or
``composition.assembly_failed.v1``) out: real NATS and S3, a stand-in film function."""

from __future__ import annotations

import asyncio
import hashlib
from pathlib import Path

import av
import pytest
from prometheus_client import REGISTRY

from reelhouse.assembler.assembly import assembled_event_id
from reelhouse.assembler.run_keys import is_run_key, run_key
from reelhouse.common.composition_events import (
    CompositionAssembled,
    CompositionAssemblyFailed,
    CompositionReady,
)
from reelhouse.common.events import Asset
from reelhouse.common.settings import StorageSettings
from reelhouse.common.storage import ObjectStore
from tests.integration.assembler.compositions import (
    composition_ready,
    new_composition_id,
    store_scene,
    wait_until,
)
from tests.integration.assembler.conftest import RunAssembler
from tests.integration.assembler.fake_film import refusing_film
from tests.integration.downloader.observations import JetStreamEvents, stored_keys

pytestmark = pytest.mark.timeout(120)

OUTCOME = (CompositionAssembled.subject, CompositionAssemblyFailed.subject)
CONSUMER = "assembler"


async def read_object(store: ObjectStore, key: str) -> bytes:
    return b"".join([chunk async for chunk in store.read_range(key)])


async def two_scene_composition(store: ObjectStore, workdir: Path) -> CompositionReady:
    cmp = new_composition_id()
    scenes = [
        await store_scene(store, workdir, f"outputs/job-{cmp}-{i}/0.mp4", seconds=1.0)
        for i in range(2)
    ]
    return composition_ready(cmp, scenes)


def assembled_count(outcome: str) -> float:
    total = 0.0
    for method in ("", "copy", "reencode"):
        value = REGISTRY.get_sample_value(
            "reelhouse_assemblies_total", {"outcome": outcome, "method": method, "code": ""}
        )
        total += value or 0.0
    return total


async def test_two_scenes_become_one_stored_film_with_a_poster(
    events: JetStreamEvents, run_assembler: RunAssembler, store: ObjectStore, tmp_path: Path
) -> None:
    event = await two_scene_composition(store, tmp_path)

    async with run_assembler():
        await events.publish(event)
        outcome = await events.wait_for(OUTCOME, event.job_id)
        await events.wait_settled(CONSUMER)

    assert isinstance(outcome, CompositionAssembled), outcome
    assert outcome.event_id == f"{event.job_id}:assembled:1"
    assert outcome.assembly == 1
    assert outcome.method == "reencode"
    asset = outcome.asset
    # stored under this run's own keys, beside the composition's base keys
    assert (asset.index, asset.kind) == (0, "video")
    assert is_run_key(asset.key, event.key), asset.key
    assert asset.poster_key is not None
    assert is_run_key(asset.poster_key, event.poster_key)
    assert asset.content_type == "video/mp4"
    film = await read_object(store, asset.key)
    assert asset.size == len(film)
    assert asset.sha256 == hashlib.sha256(film).hexdigest()
    assert (asset.width, asset.height, asset.video_codec) == (64, 48, "h264")
    assert asset.duration is not None
    assert 1.9 <= asset.duration <= 2.1
    assert (await store.stat(asset.key)).content_type == "video/mp4"
    poster = await read_object(store, asset.poster_key)
    assert poster[:3] == b"\xff\xd8\xff"  # a JPEG
    assert (await store.stat(asset.poster_key)).content_type == "image/jpeg"
    # the stored film decodes: every frame of both scenes is there
    path = tmp_path / "film.mp4"
    path.write_bytes(film)
    with av.open(str(path)) as container:
        assert sum(1 for _ in container.decode(video=0)) == 48


async def test_a_redelivered_composition_is_stored_once_and_answered_again(
    events: JetStreamEvents,
    run_assembler: RunAssembler,
    store: ObjectStore,
    storage: StorageSettings,
    tmp_path: Path,
) -> None:
    event = await two_scene_composition(store, tmp_path)
    replayed_before = assembled_count("replayed")

    async with run_assembler() as running:
        await events.publish(event)
        first = await events.wait_for(OUTCOME, event.job_id)
        await events.wait_settled(CONSUMER)
        # the gateway publishes the same assembly again (a new message id, so it is not dropped)
        await events.publish(event.model_copy(update={"event_id": f"{event.event_id}:again"}))
        await wait_until(lambda: assembled_count("replayed") > replayed_before)
        await events.wait_settled(CONSUMER)

    assert isinstance(first, CompositionAssembled), first
    assert first.asset.poster_key is not None
    assert running.store.puts.count(first.asset.key) == 1
    assert running.store.puts.count(first.asset.poster_key) == 1
    # one answer in the stream: the second carried the same event id and was de-duplicated
    assert await events.events(CompositionAssembled.subject, event.job_id) == [first]
    assert await events.events(CompositionAssemblyFailed.subject, event.job_id) == []
    keys = await asyncio.to_thread(stored_keys, storage, f"compositions/{event.job_id}/")
    expected = [first.asset.key, first.asset.poster_key, f"{event.key}.assembly-1.json"]
    assert keys == sorted(expected)


async def test_a_run_that_announces_second_deletes_its_film_and_poster(
    events: JetStreamEvents,
    run_assembler: RunAssembler,
    store: ObjectStore,
    storage: StorageSettings,
    tmp_path: Path,
) -> None:
    """Two runs of one assembly overlapped (a stopped assembler woke up after the ack wait
    had handed its message on): the broker keeps the first announcement, and the run that
    comes second deletes what it stored, so no film contradicts the one announced."""
    event = await two_scene_composition(store, tmp_path)
    other = CompositionAssembled(
        event_id=assembled_event_id(event.job_id, event.assembly),
        job_id=event.job_id,
        assembly=event.assembly,
        asset=Asset(
            index=0,
            key=run_key(event.key, "0a0a0a0a"),
            content_type="video/mp4",
            size=1,
            sha256="0" * 64,
            kind="video",
        ),
        method="reencode",
    )
    await events.publish(other)
    superseded_before = assembled_count("superseded")

    async with run_assembler() as running:
        await events.publish(event)
        await wait_until(lambda: assembled_count("superseded") > superseded_before)
        await events.wait_settled(CONSUMER)

    assert await events.events(CompositionAssembled.subject, event.job_id) == [other]
    assert await events.events(CompositionAssemblyFailed.subject, event.job_id) == []
    # it stored a film and a poster of its own, then deleted both, and saved no record
    own = [key for key in running.store.puts if is_run_key(key, event.key)]
    assert len(own) == 1
    assert own[0] != other.asset.key
    assert [key for key in running.store.puts if is_run_key(key, event.poster_key)]
    keys = await asyncio.to_thread(stored_keys, storage, f"compositions/{event.job_id}/")
    assert keys == []


async def test_a_later_assembly_drops_the_earlier_film(
    events: JetStreamEvents,
    run_assembler: RunAssembler,
    store: ObjectStore,
    storage: StorageSettings,
    tmp_path: Path,
) -> None:
    """A retried composition is assembled again under a new number: once the new film is
    announced the earlier one (no longer any composition's output) goes, with its record."""
    ready = await two_scene_composition(store, tmp_path)
    again = ready.model_copy(update={"assembly": 2, "event_id": f"{ready.job_id}:ready:2"})

    async with run_assembler():
        await events.publish(ready)
        await events.wait_for(OUTCOME, ready.job_id)
        await events.wait_settled(CONSUMER)
        assembled_before = assembled_count("assembled")
        await events.publish(again)
        await wait_until(lambda: assembled_count("assembled") > assembled_before)
        await events.wait_settled(CONSUMER)

    first, second = await events.events(CompositionAssembled.subject, ready.job_id)
    assert isinstance(first, CompositionAssembled)
    assert isinstance(second, CompositionAssembled)
    assert (first.assembly, second.assembly) == (1, 2)
    assert first.asset.key != second.asset.key
    assert second.asset.poster_key is not None
    keys = await asyncio.to_thread(stored_keys, storage, f"compositions/{ready.job_id}/")
    expected = [second.asset.key, second.asset.poster_key, f"{ready.key}.assembly-2.json"]
    assert keys == sorted(expected)


async def test_a_scene_missing_from_storage_fails_the_assembly_naming_it(
    events: JetStreamEvents, run_assembler: RunAssembler, store: ObjectStore, tmp_path: Path
) -> None:
    event = await two_scene_composition(store, tmp_path)
    missing = event.scenes[1].asset.key
    await store.delete(missing)

    async with run_assembler() as running:
        await events.publish(event)
        outcome = await events.wait_for(OUTCOME, event.job_id)
        await events.wait_settled(CONSUMER)

    assert isinstance(outcome, CompositionAssemblyFailed), outcome
    assert outcome.event_id == f"{event.job_id}:assembly_failed:1"
    assert outcome.assembly == 1
    assert (outcome.error.stage, outcome.error.code) == ("assembly", "assembly_failed")
    assert "Scene 1" in outcome.error.message
    assert missing in outcome.error.message
    assert running.store.puts == []


async def test_a_film_function_refusal_fails_the_assembly_with_its_reason(
    events: JetStreamEvents, run_assembler: RunAssembler, store: ObjectStore, tmp_path: Path
) -> None:
    event = await two_scene_composition(store, tmp_path)
    reason = "Scene 1 has no video stream."

    async with run_assembler(film_maker=refusing_film(reason)) as running:
        await events.publish(event)
        outcome = await events.wait_for(OUTCOME, event.job_id)
        await events.wait_settled(CONSUMER)

    assert isinstance(outcome, CompositionAssemblyFailed), outcome
    assert (outcome.error.stage, outcome.error.code) == ("assembly", "assembly_failed")
    assert outcome.error.message == reason
    assert running.store.puts == []


async def test_more_scenes_than_allowed_fail_the_assembly(
    events: JetStreamEvents, run_assembler: RunAssembler, store: ObjectStore, tmp_path: Path
) -> None:
    event = await two_scene_composition(store, tmp_path)

    async with run_assembler(max_scenes=1) as running:
        await events.publish(event)
        outcome = await events.wait_for(OUTCOME, event.job_id)

    assert isinstance(outcome, CompositionAssemblyFailed), outcome
    assert outcome.error.code == "assembly_failed"
    assert "at most 1" in outcome.error.message
    assert running.store.keys_read == [f"{event.key}.assembly-1.json"]


async def test_scenes_longer_than_a_film_may_last_fail_before_anything_is_fetched(
    events: JetStreamEvents, run_assembler: RunAssembler, store: ObjectStore, tmp_path: Path
) -> None:
    event = await two_scene_composition(store, tmp_path)

    async with run_assembler(max_film_seconds=1.5) as running:
        await events.publish(event)
        outcome = await events.wait_for(OUTCOME, event.job_id)

    assert isinstance(outcome, CompositionAssemblyFailed), outcome
    assert outcome.error.code == "assembly_failed"
    assert "limit of 1.5 s" in outcome.error.message
    assert running.store.keys_read == [f"{event.key}.assembly-1.json"]
