"""What a drill checks once the system has recovered, each from its own witness.

- the API: every item in its expected final state, with its expected error code;
- the media service: each output's served bytes match the recorded size and sha256, and decode;
- the provider (the sandbox's control endpoint): exactly one prediction per attempt, none
  that no attempt claims;
- the database: exactly one applied terminal event per job;
- the webhook receiver: every delivery the gateway recorded arrived at least once, and its
  copies carry one ``webhook-id`` and one body (a client can drop the repeats);
- storage: no object that nothing references; the workers' temp directories empty.
"""

from __future__ import annotations

import asyncio
import hashlib
import io
import json
import time
from collections import Counter, defaultdict
from typing import Any

import asyncpg
import av
import httpx
from minio import Minio

from tests.faults.batch import Batch, Item
from tests.faults.target import DrillSystem
from tests.support.webhook_receiver import WebhookReceiver

TERMINAL = ("succeeded", "failed", "canceled")
# a webhook delivery retried after the fault is sent within this (retry delays up to 5 s)
WEBHOOK_SETTLE_SECONDS = 60.0


def _dsn(url: str) -> str:
    scheme, rest = url.split("://", 1)
    return f"{scheme.split('+', 1)[0]}://{rest}"


async def _fetch(database_url: str, query: str, *args: object) -> list[asyncpg.Record]:
    connection = await asyncpg.connect(_dsn(database_url), timeout=10)
    try:
        return list(await connection.fetch(query, *args, timeout=30))
    finally:
        await connection.close()


def rows(system: DrillSystem, query: str, *args: object) -> list[asyncpg.Record]:
    """Read the database directly (not through the proxy the drill may have cut)."""
    return asyncio.run(_fetch(system.database_url, query, *args))


def _json(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) else value


def check_final_states(system: DrillSystem, batch: Batch) -> list[str]:
    problems: list[str] = []
    with system.client() as client:
        for item in batch.items:
            path = "/v1/compositions/" if item.composition else "/v1/generations/"
            found = client.get(path + item.id).json()
            code = (found.get("error") or {}).get("code")
            if found["status"] != item.expect or (item.code and code != item.code):
                problems.append(
                    f"{item.kind} {item.id}: {found['status']} ({code}),"
                    f" expected {item.expect} ({item.code})"
                )
    return problems


def _decodes(data: bytes, content_type: str) -> str | None:
    """None when the bytes decode as what they claim to be, else why not."""
    try:
        with av.open(io.BytesIO(data), mode="r") as container:
            if content_type.startswith("video/"):
                frames = sum(1 for _ in container.decode(video=0))
                return None if frames else "no video frames"
            next(container.decode(video=0))
            return None
    except Exception as exc:  # any decoder error is the finding
        return f"does not decode: {exc!r}"


def check_outputs(system: DrillSystem, batch: Batch) -> tuple[list[str], int]:
    """Fetch every output through its signed media URL; returns problems and outputs checked."""
    problems: list[str] = []
    checked = 0
    with system.client() as client, httpx.Client(timeout=30.0) as browser:
        for item in batch.items:
            if item.expect != "succeeded":
                continue
            path = "/v1/compositions/" if item.composition else "/v1/generations/"
            found = client.get(path + item.id).json()
            outputs = found.get("outputs") or []
            if not outputs:
                problems.append(f"{item.kind} {item.id}: no outputs to serve")
            for output in outputs:
                served = browser.get(output["url"])
                checked += 1
                data = served.content
                where = f"{item.kind} {item.id} output {output.get('index', 0)}"
                if served.status_code != 200:
                    problems.append(f"{where}: media answered {served.status_code}")
                    continue
                if len(data) != output["size"]:
                    problems.append(f"{where}: {len(data)} bytes served, {output['size']} recorded")
                if hashlib.sha256(data).hexdigest() != output["sha256"]:
                    problems.append(f"{where}: sha256 differs from the recorded one")
                why = _decodes(data, output["content_type"])
                if why:
                    problems.append(f"{where}: {why}")
    return problems, checked


def _predictions(system: DrillSystem, prompts: dict[str, str]) -> dict[str, list[str]]:
    """The sandbox's predictions by the job they were made for: from their webhook URL, or,
    when the dispatcher asked for no webhooks (compose sets no public webhook address), from
    their prompt (``prompts``: each job's, unique within the batch)."""
    response = httpx.get(f"{system.sandbox}/_sandbox/predictions", timeout=30.0)
    response.raise_for_status()
    by_job: dict[str, list[str]] = defaultdict(list)
    for prediction in response.json()["results"]:
        url = (prediction.get("webhook") or {}).get("url") or ""
        if url:
            job = url.rstrip("/").rsplit("/", 1)[-1].split("?")[0]
        else:
            job = prompts.get(str((prediction.get("input") or {}).get("prompt")), "")
        by_job[job].append(prediction["id"])
    return by_job


def _prompts(found: list[asyncpg.Record]) -> dict[str, str]:
    """Each job's prompt, when no other job of the batch has the same one."""
    counted = Counter(str((_json(row["input"]) or {}).get("prompt")) for row in found)
    return {
        str((_json(row["input"]) or {}).get("prompt")): row["id"]
        for row in found
        if counted[str((_json(row["input"]) or {}).get("prompt"))] == 1
    }


def _part_jobs(system: DrillSystem, batch: Batch) -> list[str]:
    """The generation jobs of the batch: its own, and every composition's parts."""
    ids = [item.id for item in batch.jobs]
    compositions = [item.id for item in batch.compositions]
    if compositions:
        found = rows(
            system, "SELECT id FROM jobs WHERE composition_id = ANY($1::text[])", compositions
        )
        ids += [row["id"] for row in found]
    return ids


def check_provider_calls(system: DrillSystem, batch: Batch) -> list[str]:
    """Exactly one prediction per attempt: each one an attempt claims, no attempt without one."""
    problems: list[str] = []
    jobs = _part_jobs(system, batch)
    found = rows(
        system, "SELECT id, status, attempts, input FROM jobs WHERE id = ANY($1::text[])", jobs
    )
    by_job = _predictions(system, _prompts(found))
    kinds = {item.id: item.kind for item in batch.items}
    for row in found:
        claimed = [
            a.get("provider_request_id")
            for a in _json(row["attempts"]) or []
            if a.get("provider_request_id")
        ]
        made = by_job.get(row["id"], [])
        if sorted(made) != sorted(set(claimed)) or len(claimed) != len(set(claimed)):
            problems.append(
                f"{kinds.get(row['id'], 'scene')} job {row['id']} ({row['status']}): provider made"
                f" {len(made)} prediction(s) {made}, attempts claim {claimed}"
            )
    return problems


def check_terminal_events(system: DrillSystem, batch: Batch) -> list[str]:
    jobs = _part_jobs(system, batch)
    found = rows(
        system,
        "SELECT job_id, count(*) AS n FROM job_events WHERE applied AND status = ANY($2::text[])"
        " AND job_id = ANY($1::text[]) GROUP BY job_id",
        jobs,
        list(TERMINAL),
    )
    counts = {row["job_id"]: row["n"] for row in found}
    return [
        f"job {job}: {counts.get(job, 0)} applied terminal events"
        for job in jobs
        if counts.get(job, 0) != 1
    ]


def _deliveries(system: DrillSystem, jobs: list[str]) -> list[asyncpg.Record]:
    """The jobs' webhook deliveries once none is pending any more (a delivery retried after
    the fault may still be waiting for its next attempt; bounded)."""
    deadline = time.monotonic() + WEBHOOK_SETTLE_SECONDS
    while True:
        found = rows(
            system,
            "SELECT id, job_id, type, status FROM webhook_deliveries"
            " WHERE job_id = ANY($1::text[])",
            jobs,
        )
        if all(d["status"] != "pending" for d in found) or time.monotonic() > deadline:
            return found
        time.sleep(0.5)


def check_webhooks(system: DrillSystem, batch: Batch, receiver: WebhookReceiver) -> list[str]:
    """Every recorded delivery arrived at least once; its copies are one delivery to a client."""
    problems: list[str] = []
    hooked = [item.id for item in batch.items if item.webhook]
    if not hooked:
        return problems
    deliveries = _deliveries(system, hooked)
    arrived: dict[str, list[bytes]] = defaultdict(list)
    for request in receiver.received:
        arrived[request.headers.get("webhook-id", "")].append(request.body)
    for job in hooked:
        mine = [d for d in deliveries if d["job_id"] == job]
        if not any(d["type"] == "generation.succeeded" for d in mine):
            problems.append(f"webhook job {job}: no generation.succeeded delivery recorded")
    for delivery in deliveries:
        copies = arrived.get(delivery["id"], [])
        if delivery["status"] != "delivered":
            problems.append(f"webhook {delivery['id']} ({delivery['type']}): {delivery['status']}")
        if not copies:
            problems.append(f"webhook {delivery['id']} ({delivery['type']}) never arrived")
        elif len(set(copies)) != 1:
            problems.append(f"webhook {delivery['id']}: its {len(copies)} copies differ")
    return problems


def _referenced_keys(system: DrillSystem) -> set[str]:
    keys: set[str] = set()
    for row in rows(system, "SELECT key, poster_key FROM job_outputs"):
        keys |= {row["key"], row["poster_key"]} - {None}
    for row in rows(system, "SELECT object_key FROM uploads"):
        keys.add(row["object_key"])
    for row in rows(system, "SELECT outputs FROM compositions"):
        for asset in _json(row["outputs"]) or []:
            keys |= {asset.get("key"), asset.get("poster_key")} - {None}
    return keys


def check_storage(system: DrillSystem) -> list[str]:
    """No object without a record (an assembly's own record aside), no temp file left."""
    s3 = system.s3
    client = Minio(
        s3.endpoint,
        access_key=s3.access_key.get_secret_value(),
        secret_key=s3.secret_key.get_secret_value(),
        secure=s3.secure,
    )
    stored = {obj.object_name for obj in client.list_objects(s3.bucket, recursive=True)}
    referenced = _referenced_keys(system)
    # an assembly's record sits beside its composition's base key (outputs/<id>/0.mp4)
    folders = {key.rsplit("/", 1)[0] for key in referenced if key.startswith("outputs/cmp_")}
    orphans = sorted(
        key
        for key in stored - referenced
        if not any(key.startswith(f"{folder}/0.mp4.assembly-") for folder in folders)
    )
    problems = [f"orphan object {key}" for key in orphans[:20]]
    for directory in system.temp_dirs():
        left = [p for p in directory.rglob("*") if p.is_file()]
        problems += [f"temp file left: {p}" for p in left[:20]]
    return problems


def summary_counts(system: DrillSystem, batch: Batch) -> Counter[str]:
    with system.client() as client:
        from tests.faults.batch import statuses

        return Counter(statuses(client, batch).values())


__all__ = [
    "Item",
    "check_final_states",
    "check_outputs",
    "check_provider_calls",
    "check_storage",
    "check_terminal_events",
    "check_webhooks",
    "summary_counts",
]
