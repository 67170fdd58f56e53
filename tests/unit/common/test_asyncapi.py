from pathlib import Path

from reelhouse.common.asyncapi import build_document, render
from reelhouse.common.composition_events import COMPOSITION_EVENTS
from reelhouse.common.deadletter import PoisonCode
from reelhouse.common.events import JOB_EVENTS, EventProjected

DOC = Path(__file__).resolve().parents[3] / "docs" / "asyncapi.json"


def test_committed_asyncapi_matches_the_event_models() -> None:
    assert DOC.read_text() == render(), (
        "docs/asyncapi.json is stale: run `python -m reelhouse.common.asyncapi > docs/asyncapi.json`"
    )


def test_every_public_event_has_a_channel_at_its_subject() -> None:
    addresses = {c["address"] for c in build_document()["channels"].values()}
    assert addresses == {e.subject for e in (*JOB_EVENTS, *COMPOSITION_EVENTS)} | {
        EventProjected.subject
    } | {"deadletter.{subject}"}


def test_the_dead_letter_channel_documents_every_poison_code() -> None:
    message = build_document()["components"]["messages"]["DeadLetter"]
    code = message["headers"]["properties"]["Reelhouse-Dead-Letter-Code"]
    assert set(code["enum"]) == {poison.value for poison in PoisonCode}
