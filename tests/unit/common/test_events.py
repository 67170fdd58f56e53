from reelhouse.common.composition_events import COMPOSITION_EVENTS
from reelhouse.common.events import (
    EVENTS_BY_SUBJECT,
    STREAM_SUBJECTS,
    Asset,
    GenerationFailed,
    GenerationStored,
    JobError,
    parse_event,
)


def test_every_subject_is_versioned_and_inside_the_stream() -> None:
    for subject in [*EVENTS_BY_SUBJECT, *(e.subject for e in COMPOSITION_EVENTS)]:
        assert subject.endswith(".v1")
        assert any(subject.startswith(pattern.removesuffix(">")) for pattern in STREAM_SUBJECTS)


def test_cloudevents_headers_carry_id_for_broker_deduplication() -> None:
    event = GenerationFailed(
        event_id="j1:failed",
        job_id="j1",
        error=JobError(stage="download", code="not_media", message="HTML page"),
    )
    headers = event.ce_headers("downloader")
    assert headers["Nats-Msg-Id"] == "j1:failed"
    assert headers["ce-id"] == "j1:failed"
    assert headers["ce-subject"] == "j1"
    assert headers["ce-type"] == "reelhouse.generation.failed.v1"
    assert headers["ce-source"] == "reelhouse/downloader"


def test_round_trip_through_the_wire_format() -> None:
    stored = GenerationStored(
        job_id="j1",
        assets=[
            Asset(
                index=0,
                key="outputs/j1/0.mp4",
                content_type="video/mp4",
                size=10,
                sha256="ab" * 32,
                kind="video",
                duration=3.0,
            )
        ],
    )
    decoded = parse_event(stored.subject, stored.model_dump_json().encode())
    assert decoded == stored
