"""After a phase of ``bench/scale.py``: latency, lost jobs and duplicated work, from the records.

Three independent witnesses, each able to show a job done twice:

- the sandbox (the provider): its predictions of the instant model (``/_sandbox/predictions``),
  with when each completed and how many times its output file was fetched;
- the gateway's database: each job's provider request id, its ``succeeded`` event (the
  projector's ``recorded_at``) and how many applied ``succeeded`` events it has;
- the downloaders' own JSON logs: one ``download.stored`` per job and output, across replicas.
"""

from __future__ import annotations

import asyncio
import math
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import asyncpg
import httpx

from bench.scale_system import MODEL
from bench.submit_targets import asyncpg_dsn
from tests.support.processes import ServiceProcess

JOBS_QUERY = """
SELECT j.id, j.status, j.provider_request_id,
       min(e.recorded_at) FILTER (WHERE e.status = 'succeeded' AND e.applied) AS succeeded_at,
       count(*) FILTER (WHERE e.status = 'succeeded' AND e.applied) AS succeeded_events,
       min(e.occurred_at) FILTER (WHERE e.subject = 'gen.output.v1') AS output_at,
       min(e.occurred_at) FILTER (WHERE e.subject = 'gen.stored.v1') AS stored_at
FROM jobs j LEFT JOIN job_events e ON e.job_id = j.id
GROUP BY j.id
"""


# provider completed → dispatcher published output ready → downloader published stored → the
# projector recorded the stored event, which made the job succeeded
STAGES = (
    "provider completed → output ready published (dispatcher)",
    "→ stored published (downloader)",
    "→ succeeded recorded (gateway projector)",
)


@dataclass(frozen=True, slots=True)
class JobRecord:
    id: str
    status: str
    provider_request_id: str | None
    succeeded_at: float | None
    succeeded_events: int
    # when the dispatcher published "output ready", the downloader "stored" (their clocks)
    output_at: float | None
    stored_at: float | None


@dataclass(slots=True)
class Findings:
    """What one phase's records say about the measured jobs."""

    jobs: int
    succeeded: int
    statuses: Counter[str]
    # provider completion → ``succeeded``, milliseconds, one per succeeded job
    latencies_ms: list[float]
    last_succeeded_at: float | None
    duplicates: dict[str, int] = field(default_factory=dict)
    # the same span in steps, milliseconds each: where the time goes
    stages_ms: dict[str, list[float]] = field(default_factory=dict)
    # measured jobs each replica did: provider submits per dispatcher, stores per downloader
    shares: dict[str, list[int]] = field(default_factory=dict)

    @property
    def lost(self) -> int:
        return self.jobs - self.succeeded

    @property
    def duplicated(self) -> int:
        return sum(self.duplicates.values())


def percentile(values: list[float], share: float) -> float:
    """The nearest-rank percentile (``share`` in 0…1); NaN for no values."""
    if not values:
        return math.nan
    ordered = sorted(values)
    return ordered[max(0, math.ceil(share * len(ordered)) - 1)]


def _epoch(value: datetime | None) -> float | None:
    return None if value is None else value.timestamp()


async def job_records(database_url: str) -> dict[str, JobRecord]:
    connection = await asyncpg.connect(asyncpg_dsn(database_url), timeout=10)
    try:
        rows = await connection.fetch(JOBS_QUERY, timeout=60)
    finally:
        await connection.close()
    return {
        row["id"]: JobRecord(
            id=row["id"],
            status=row["status"],
            provider_request_id=row["provider_request_id"],
            succeeded_at=_epoch(row["succeeded_at"]),
            succeeded_events=int(row["succeeded_events"]),
            output_at=_epoch(row["output_at"]),
            stored_at=_epoch(row["stored_at"]),
        )
        for row in rows
    }


def predictions(sandbox_url: str) -> dict[str, dict[str, Any]]:
    """The sandbox's view of every instant prediction, by id."""
    response = httpx.get(
        f"{sandbox_url}/_sandbox/predictions", params={"model": MODEL}, timeout=60.0
    )
    response.raise_for_status()
    return {item["id"]: item for item in response.json()["results"]}


def _completed_at(prediction: dict[str, Any]) -> float | None:
    stamp = prediction.get("completed_at")
    if not stamp:
        return None
    return datetime.fromisoformat(str(stamp).replace("Z", "+00:00")).timestamp()


def stored_per_job(downloaders: list[ServiceProcess]) -> Counter[str]:
    """``download.stored`` log records per job, across every downloader replica."""
    counts: Counter[str] = Counter()
    for process in downloaders:
        counts.update(str(record.get("job_id")) for record in process.records("download.stored"))
    return counts


def shares(processes: list[ServiceProcess], event: str, measured: set[str]) -> list[int]:
    """How many of the ``measured`` jobs each process logged ``event`` for."""
    return [
        sum(1 for record in process.records(event) if record.get("job_id") in measured)
        for process in processes
    ]


def examine(
    *,
    database_url: str,
    sandbox_url: str,
    dispatchers: list[ServiceProcess],
    downloaders: list[ServiceProcess],
    measured: list[str],
) -> Findings:
    """Latencies, lost jobs and duplicated work of the ``measured`` jobs."""
    records = asyncio.run(job_records(database_url))
    seen = predictions(sandbox_url)
    stored = stored_per_job(downloaders)
    measured_set = set(measured)
    wanted = [records[job_id] for job_id in measured if job_id in records]
    latencies: list[float] = []
    stages: dict[str, list[float]] = {name: [] for name in STAGES}
    for record in wanted:
        prediction = seen.get(record.provider_request_id or "")
        completed = None if prediction is None else _completed_at(prediction)
        if record.succeeded_at is not None and completed is not None:
            latencies.append((record.succeeded_at - completed) * 1e3)
        steps = (
            completed,
            record.output_at,
            record.stored_at,
            record.succeeded_at,
        )
        for name, start, end in zip(STAGES, steps, steps[1:], strict=False):
            if start is not None and end is not None:
                stages[name].append((end - start) * 1e3)
    claimed = {r.provider_request_id for r in records.values() if r.provider_request_id}
    measured_predictions = [
        seen[r.provider_request_id or ""] for r in wanted if r.provider_request_id in seen
    ]
    duplicates = {
        # a provider prediction no job claims: a second submission of some job
        "provider predictions no job claims": sum(1 for p in seen if p not in claimed),
        "predictions whose output was fetched more than once": sum(
            1 for p in measured_predictions if p["calls"]["files"] > 1
        ),
        "jobs stored more than once (downloader logs)": sum(
            1 for r in wanted if stored.get(r.id, 0) > 1
        ),
        "jobs with more than one succeeded event": sum(1 for r in wanted if r.succeeded_events > 1),
    }
    succeeded_at = [r.succeeded_at for r in wanted if r.succeeded_at is not None]
    return Findings(
        jobs=len(measured),
        succeeded=sum(1 for r in wanted if r.status == "succeeded"),
        statuses=Counter(r.status for r in wanted),
        latencies_ms=latencies,
        last_succeeded_at=max(succeeded_at) if succeeded_at else None,
        duplicates=duplicates,
        stages_ms=stages,
        shares={
            "provider submits per dispatcher": shares(
                dispatchers, "provider.submitted", measured_set
            ),
            "stores per downloader": shares(downloaders, "download.stored", measured_set),
        },
    )
