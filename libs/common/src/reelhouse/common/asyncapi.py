"""The AsyncAPI 3 document of reelhouse's public events, generated from the models.

``python -m reelhouse.common.asyncapi > docs/asyncapi.json`` refreshes the committed
copy; a test fails when the two drift apart.
"""

from __future__ import annotations

import json
import sys
from typing import Any

from reelhouse.common.composition_events import COMPOSITION_EVENTS
from reelhouse.common.deadletter import (
    CODE_HEADER,
    CONSUMER_HEADER,
    DELIVERIES_HEADER,
    MAX_REASON_CHARS,
    MSG_ID_HEADER,
    ORIGINAL_SUBJECT_HEADER,
    REASON_HEADER,
    STREAM_SEQUENCE_HEADER,
    PoisonCode,
)
from reelhouse.common.events import (
    DEADLETTER_STREAM_NAME,
    JOB_EVENTS,
    STREAM_NAME,
    Event,
    EventProjected,
)
from reelhouse.common.streams import DEADLETTER_MAX_AGE_SECONDS, DEADLETTER_PREFIX

_HEADERS_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "CloudEvents attributes carried as NATS headers.",
    "properties": {
        "Nats-Msg-Id": {
            "type": "string",
            "description": "equals ce-id; JetStream de-duplicates on it",
        },
        "ce-specversion": {"const": "1.0"},
        "ce-id": {"type": "string"},
        "ce-type": {"type": "string"},
        "ce-source": {"type": "string"},
        "ce-time": {"type": "string", "format": "date-time"},
        "ce-subject": {
            "type": "string",
            "description": "the job id (the composition id on composition.* subjects)",
        },
    },
    "required": ["Nats-Msg-Id", "ce-id", "ce-type", "ce-source", "ce-time", "ce-subject"],
}


def _name(event: type[Event]) -> str:
    return event.__name__


def build_document() -> dict[str, Any]:
    channels: dict[str, Any] = {}
    operations: dict[str, Any] = {}
    messages: dict[str, Any] = {}
    for event in (*JOB_EVENTS, *COMPOSITION_EVENTS):
        name = _name(event)
        doc = (event.__doc__ or "").strip() or event.event_type
        messages[name] = {
            "name": event.event_type,
            "title": name,
            "summary": doc.splitlines()[0],
            "contentType": "application/json",
            "headers": _HEADERS_SCHEMA,
            "payload": event.model_json_schema(mode="serialization"),
        }
        channels[name] = {
            "address": event.subject,
            "messages": {name: {"$ref": f"#/components/messages/{name}"}},
        }
        operations[f"on{name}"] = {
            "action": "receive",
            "channel": {"$ref": f"#/channels/{name}"},
        }
    _add_core_notice(channels, operations, messages)
    _add_dead_letters(channels, operations, messages)
    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": "reelhouse events",
            "version": "1.0.0",
            "description": (
                f"Events on the JetStream stream {STREAM_NAME}. Subjects are versioned; a "
                "breaking change adds a new version. Delivery is at least once: consumers "
                "de-duplicate on the event id (also the Nats-Msg-Id header)."
            ),
        },
        "servers": {"nats": {"host": "127.0.0.1:4222", "protocol": "nats"}},
        "channels": channels,
        "operations": operations,
        "components": {"messages": messages},
    }


def _add_core_notice(
    channels: dict[str, Any], operations: dict[str, Any], messages: dict[str, Any]
) -> None:
    """``gateway.projected.v1``: core NATS (not the stream), between gateway processes."""
    name = EventProjected.__name__
    doc = (EventProjected.__doc__ or "").strip()
    messages[name] = {
        "name": EventProjected.subject,
        "title": name,
        "summary": doc.splitlines()[0],
        "description": doc,
        "contentType": "application/json",
        "payload": EventProjected.model_json_schema(mode="serialization"),
    }
    channels[name] = {
        "address": EventProjected.subject,
        "description": "Core NATS subject (not in the JetStream stream); at most once.",
        "messages": {name: {"$ref": f"#/components/messages/{name}"}},
    }
    operations[f"on{name}"] = {"action": "receive", "channel": {"$ref": f"#/channels/{name}"}}
    operations[f"send{name}"] = {"action": "send", "channel": {"$ref": f"#/channels/{name}"}}


def _add_dead_letters(
    channels: dict[str, Any], operations: dict[str, Any], messages: dict[str, Any]
) -> None:
    """``deadletter.>``: poison messages on their own stream, recorded before they are ended."""
    name = "DeadLetter"
    codes = [code.value for code in PoisonCode]
    messages[name] = {
        "name": "deadletter",
        "title": name,
        "summary": "A message no consumer could ever handle, kept with the reason.",
        "description": (
            "The original body, unchanged (any bytes), on `deadletter.<original subject>` in "
            f"the stream {DEADLETTER_STREAM_NAME} (REELHOUSE_NATS__DEADLETTER_STREAM), kept "
            f"{DEADLETTER_MAX_AGE_SECONDS // 86400} days. The original's own headers are "
            "kept, but for JetStream's `Nats-*` ones. The consumer terminates the original only "
            "once JetStream acknowledged the record."
        ),
        "contentType": "application/octet-stream",
        "headers": {
            "type": "object",
            "properties": {
                MSG_ID_HEADER: {
                    "type": "string",
                    "description": "`<stream>:<stream sequence>` of the original: a poison "
                    "message redelivered before its termination landed is recorded once",
                },
                CODE_HEADER: {"enum": codes, "description": "why, for machines"},
                REASON_HEADER: {
                    "type": "string",
                    "maxLength": MAX_REASON_CHARS,
                    "description": "why, for people (one line of ASCII)",
                },
                ORIGINAL_SUBJECT_HEADER: {"type": "string"},
                CONSUMER_HEADER: {
                    "type": "string",
                    "description": "the durable consumer that met it",
                },
                STREAM_SEQUENCE_HEADER: {
                    "type": "string",
                    "description": "the original's sequence in its stream (decimal)",
                },
                DELIVERIES_HEADER: {
                    "type": "string",
                    "description": "deliveries of the original so far (decimal)",
                },
            },
            "required": [
                MSG_ID_HEADER,
                CODE_HEADER,
                REASON_HEADER,
                ORIGINAL_SUBJECT_HEADER,
                CONSUMER_HEADER,
                DELIVERIES_HEADER,
            ],
        },
        "payload": {"type": "string", "format": "binary"},
    }
    channels[name] = {
        "address": f"{DEADLETTER_PREFIX}{{subject}}",
        "description": f"JetStream stream {DEADLETTER_STREAM_NAME} (not the events' stream).",
        "parameters": {"subject": {"description": "the poison message's original subject"}},
        "messages": {name: {"$ref": f"#/components/messages/{name}"}},
    }
    operations[f"send{name}"] = {"action": "send", "channel": {"$ref": f"#/channels/{name}"}}


def render() -> str:
    return json.dumps(build_document(), indent=2, sort_keys=True) + "\n"


if __name__ == "__main__":
    sys.stdout.write(render())
