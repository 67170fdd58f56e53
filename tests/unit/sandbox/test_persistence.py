"""Predictions saved as JSON records load back as they were; bad files are skipped, not fatal."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
from structlog.testing import capture_logs

from reelhouse.sandbox.faults import FaultParams, plan_faults
from reelhouse.sandbox.outputs import OutputFiles
from reelhouse.sandbox.persistence import (
    PredictionJournal,
    load_or_create_secret,
)
from reelhouse.sandbox.predictions import Prediction, PredictionStore, Status

SECRET = b"persistence-test-secret"
BASE_URL = "http://sandbox.test"


def outputs_in(tmp_path: Path) -> OutputFiles:
    return OutputFiles(tmp_path / "files", BASE_URL, secret=SECRET)


def journal_in(tmp_path: Path) -> PredictionJournal:
    """A journal as a fresh process would open it: new OutputFiles, same secret."""
    return PredictionJournal(tmp_path / "predictions", outputs_in(tmp_path))


def make(prediction_id: str = "p1", created_at: float = 100.0, *faults: str) -> Prediction:
    return Prediction(
        id=prediction_id,
        model="sandbox/text-to-video",
        version="hidden",
        input={"prompt": "a kite", "duration": 2, "sandbox_fault": list(faults)},
        created_at=created_at,
        queue_seconds=1.5,
        render_seconds=2.5,
        plan=plan_faults(list(faults), FaultParams(expire_after_seconds=7)),
        seed=1234,
    )


def test_a_succeeded_prediction_loads_back_with_the_same_output_url(tmp_path: Path) -> None:
    store = PredictionStore(save=journal_in(tmp_path).save)
    prediction = make("p1", 100.0, "expire_url")
    store.add(prediction)
    prediction.start(101.0)
    prediction.append_log("Using seed: 1234")
    url = outputs_in(tmp_path).url_for("p1", "output.mp4", expires_at=110.5)
    prediction.succeed(103.0, [url], files=["output.mp4"], expires_at=110.5)

    [loaded] = journal_in(tmp_path).load()

    assert loaded.status is Status.SUCCEEDED
    assert loaded.output == [url]
    assert loaded.output_files == ["output.mp4"]
    assert (loaded.created_at, loaded.started_at, loaded.completed_at) == (100.0, 101.0, 103.0)
    assert (loaded.queue_seconds, loaded.render_seconds) == (1.5, 2.5)
    assert (loaded.model, loaded.version, loaded.seed) == ("sandbox/text-to-video", "hidden", 1234)
    assert loaded.input == prediction.input
    assert loaded.logs == "Using seed: 1234\n"
    assert loaded.plan == prediction.plan
    assert loaded.plan.url_ttl_seconds == 7
    assert loaded.finished.is_set()
    assert loaded.stop_requested.is_set()


def test_an_unfinished_prediction_loads_back_unfinished(tmp_path: Path) -> None:
    store = PredictionStore(save=journal_in(tmp_path).save)
    prediction = make("p1", 100.0, "never_finishes")
    store.add(prediction)
    prediction.start(101.0)

    [loaded] = journal_in(tmp_path).load()

    assert loaded.status is Status.PROCESSING
    assert loaded.started_at == 101.0
    assert loaded.completed_at is None
    assert loaded.output is None
    assert loaded.plan == prediction.plan
    assert not loaded.finished.is_set()
    assert not loaded.stop_requested.is_set()


def test_every_change_is_saved(tmp_path: Path) -> None:
    store = PredictionStore(save=journal_in(tmp_path).save)
    prediction = make()
    store.add(prediction)
    assert journal_in(tmp_path).load()[0].status is Status.STARTING
    prediction.cancel(102.0)
    [loaded] = journal_in(tmp_path).load()
    assert loaded.status is Status.CANCELED
    assert loaded.completed_at == 102.0


def test_failed_and_data_removed_predictions_keep_their_state(tmp_path: Path) -> None:
    store = PredictionStore(save=journal_in(tmp_path).save)
    failed = make("pfail", 100.0, "model_error")
    store.add(failed)
    failed.start(101.0)
    failed.fail(102.0, "boom")
    rejected = make("prejected", 100.5)
    store.add(rejected)
    rejected.start(101.0)
    rejected.fail(102.0, "HTTP 403", error_type="file_download_error", error_field="image")
    swept = make("pswept", 101.0)
    store.add(swept)
    swept.start(102.0)
    swept.succeed(103.0, ["u"], files=["output.mp4"], expires_at=200.0)
    swept.remove_data()

    loaded = {p.id: p for p in journal_in(tmp_path).load()}

    assert loaded["pfail"].status is Status.FAILED
    assert loaded["pfail"].error == "boom"
    assert loaded["pfail"].error_type is None
    assert (loaded["prejected"].error_type, loaded["prejected"].error_field) == (
        "file_download_error",
        "image",
    )
    assert loaded["pswept"].data_removed
    assert loaded["pswept"].status is Status.SUCCEEDED
    assert (loaded["pswept"].input, loaded["pswept"].output, loaded["pswept"].logs) == (
        {},
        None,
        "",
    )


def test_records_load_oldest_first_and_the_store_lists_newest_first(tmp_path: Path) -> None:
    first = PredictionStore(save=journal_in(tmp_path).save)
    for index, prediction_id in enumerate(["zz", "aa", "mm"]):
        first.add(make(prediction_id, created_at=100.0 + index))
    second = PredictionStore()
    for prediction in journal_in(tmp_path).load():
        second.restore(prediction)
    assert [p.id for p in second.all()] == ["zz", "aa", "mm"]
    newest, _ = second.page(offset=0, limit=3)
    assert [p.id for p in newest] == ["mm", "aa", "zz"]


@pytest.mark.parametrize(
    "content",
    [b"", b'{"format": 1, "id": "p2", "model": "sandbox/te', b"not json", b'{"format": 99}'],
    ids=["empty", "cut-short", "not-json", "unknown-format"],
)
def test_an_unreadable_record_is_skipped_with_a_warning(tmp_path: Path, content: bytes) -> None:
    journal = journal_in(tmp_path)
    PredictionStore(save=journal.save).add(make("p1"))
    (journal.directory / "p2.json").write_bytes(content)

    with capture_logs() as logs:
        loaded = journal_in(tmp_path).load()

    assert [p.id for p in loaded] == ["p1"]
    warnings = [entry for entry in logs if entry["event"] == "persistence.record_skipped"]
    assert len(warnings) == 1
    assert warnings[0]["log_level"] == "warning"
    assert warnings[0]["path"].endswith("p2.json")


def test_a_record_under_another_name_is_skipped(tmp_path: Path) -> None:
    journal = journal_in(tmp_path)
    PredictionStore(save=journal.save).add(make("p1"))
    (journal.directory / "p1.json").rename(journal.directory / "p9.json")
    with capture_logs() as logs:
        assert journal_in(tmp_path).load() == []
    assert [entry["event"] for entry in logs] == ["persistence.record_skipped"]


def test_temporary_files_of_interrupted_writes_are_ignored_and_removed(tmp_path: Path) -> None:
    journal = journal_in(tmp_path)
    PredictionStore(save=journal.save).add(make("p1"))
    leftover = journal.directory / ".p1.json.abc123.tmp"
    leftover.write_bytes(b'{"half": ')
    assert [p.id for p in journal_in(tmp_path).load()] == ["p1"]
    assert not leftover.exists()
    assert sorted(path.name for path in journal.directory.iterdir()) == ["p1.json"]


def test_a_failing_save_is_logged_not_raised(tmp_path: Path) -> None:
    journal = journal_in(tmp_path)
    journal.directory.rmdir()
    prediction = make("p1")
    with capture_logs() as logs:
        PredictionStore(save=journal.save).add(prediction)
        prediction.cancel(101.0)
    assert prediction.status is Status.CANCELED
    assert [entry["event"] for entry in logs] == ["persistence.save_failed"] * 2


def test_the_secret_is_generated_once_with_mode_0600(tmp_path: Path) -> None:
    path = tmp_path / "data" / "url-signing.key"
    first = load_or_create_secret(path)
    assert len(first) >= 32
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load_or_create_secret(path) == first


def test_a_secret_readable_by_others_is_made_private(tmp_path: Path) -> None:
    path = tmp_path / "url-signing.key"
    first = load_or_create_secret(path)
    path.chmod(0o644)
    assert load_or_create_secret(path) == first
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


@pytest.mark.parametrize("content", [b"", b"abcd", b"not hex at all, really not", b"\xff\xfe"])
def test_an_unusable_secret_file_is_replaced(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "url-signing.key"
    path.write_bytes(content)
    with capture_logs() as logs:
        secret = load_or_create_secret(path)
    assert len(secret) >= 32
    assert load_or_create_secret(path) == secret
    assert "persistence.secret_replaced" in [entry["event"] for entry in logs]
