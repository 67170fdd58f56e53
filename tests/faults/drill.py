"""One drill: submit the mixed batch, break one thing at a chosen moment, mend it, check everything.

A ``Fault`` says how to break (``inject``) and mend (``clear``) the system and how long the
break lasts. ``run_drill`` measures from the moment it mends the fault:

- ``recovered_s``: until a fresh job, submitted right then, has succeeded (the system takes
  and finishes new work again);
- ``drained_s``: until every item of the batch is final.

Each drill's numbers go to ``$REELHOUSE_DRILL_REPORT`` (JSON lines) when it is set; the
README's fault table is written from them.
"""

from __future__ import annotations

import json
import os
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, replace

import httpx

from tests.faults import checks, target
from tests.faults.batch import FINAL, Batch, Extra, Item, statuses, submit_batch, wait_all_final
from tests.faults.system import DrillSystem
from tests.support.webhook_receiver import WebhookReceiver

REPORT_ENV = "REELHOUSE_DRILL_REPORT"
COPIES_ENV = "REELHOUSE_DRILL_COPIES"
CANARY_SECONDS = 180.0
# statuses no generation has: a fault waiting for one of them watches the compositions alone
COMPOSITION_STATUSES = frozenset({"assembling"})
# a provider fetching an uploaded input (a signed URL of our media service) while the media
# service or its storage is away is refused: it fails the job, as any provider would, and the
# client's retry succeeds (``Fault.tolerate``)
INPUT_UNREACHABLE = {"upload": frozenset({"provider_model_error", "provider_rejected_input"})}


def copies() -> int:
    """Sets of the mixed batch per drill: 1 in ``make test``, more with ``make drills``."""
    return max(1, int(os.environ.get(COPIES_ENV, "1")))


# after the fault is mended, everything must be final within this (grows with the batch)
DRAIN_SECONDS = 180.0 + 15.0 * copies()
# each drill test's bound (its module's ``pytest.mark.timeout``): set-up, batch, fault, checks
TIMEOUT = 420 + 60 * copies()


@dataclass
class Fault:
    """How to break the system and mend it again."""

    name: str
    inject: Callable[[DrillSystem], None]
    clear: Callable[[DrillSystem], None]
    # how long the fault lasts before ``clear``
    hold_seconds: float = 0.0
    # the moment to strike: once any item of the batch has reached one of these statuses
    when: frozenset[str] = frozenset({"submitted", "running", "downloading"})
    # failures this fault may honestly cause, by item kind → error codes: such an item must
    # fail with one of them (never silently), and its retry must then succeed
    tolerate: dict[str, frozenset[str]] = field(default_factory=dict)
    # more work submitted at the moment of strike, right before ``inject``; checked as the
    # batch is (a fault that must land on work of its own, e.g. a burst on one gateway)
    more_work: Callable[[DrillSystem], list[Item]] | None = None


@dataclass
class Outcome:
    fault: str
    items: int
    outputs_checked: int
    recovered_s: float
    drained_s: float
    struck: dict[str, int]
    during: dict[str, int]
    # what a client submitting while the fault lasted was answered: status and error code
    submit_during: str
    after: dict[str, int]
    problems: list[str]
    # items that failed as the fault allows, retried by the client: "kind: code"
    retried: list[str] = field(default_factory=list)
    # what was submitted, for a drill's own assertions (not in the report)
    batch: Batch | None = field(default=None, repr=False)

    def report(self) -> dict[str, object]:
        """The outcome as the drill's report line carries it."""
        found = asdict(self)
        found.pop("batch")
        return found


def _wait_moment(system: DrillSystem, batch: Batch, when: frozenset[str]) -> dict[str, int]:
    """Until some item reaches a status in ``when``; the batch's statuses at that moment.

    A fault that lands on a finished batch proves nothing: the drill fails when no item is in
    ``when`` within the bound. A status only compositions have (``assembling``, a fraction of
    a second) is watched on the compositions alone, asked back to back, so it is not missed;
    the statuses returned are then the compositions' (asking the whole batch first would let
    the moment pass).
    """
    deadline = time.monotonic() + 30.0
    only_compositions = when <= COMPOSITION_STATUSES
    watched = Batch(items=batch.compositions) if only_compositions else batch
    pause = 0.01 if only_compositions else 0.1
    seen: Counter[str] = Counter()
    with system.client() as client:
        while time.monotonic() < deadline:
            seen = Counter(statuses(client, watched).values())
            if set(seen) & when:
                return dict(seen)
            time.sleep(pause)
    raise AssertionError(f"no item reached {sorted(when)} to strike at; statuses: {dict(seen)}")


def _retry_tolerated(
    system: DrillSystem, batch: Batch, tolerate: dict[str, frozenset[str]]
) -> list[str]:
    """Retry (``POST …/retry``) each item that failed the way the fault allows.

    The failed item is then expected as it is (failed, that code) and the retry joins the
    batch expected to succeed, so every check covers it too.
    """
    retried: list[str] = []
    if not tolerate:
        return retried
    with system.client() as client:
        for index, item in enumerate(list(batch.items)):
            codes = tolerate.get(item.kind)
            if not codes or item.composition:
                continue
            found = client.get(f"/v1/generations/{item.id}").json()
            code = (found.get("error") or {}).get("code")
            if found["status"] != "failed" or code not in codes:
                continue
            answer = client.post(f"/v1/generations/{item.id}/retry")
            assert answer.status_code == 202, answer.text
            batch.items[index] = replace(item, expect="failed", code=code)
            batch.items.append(replace(item, kind=f"{item.kind} (retried)", id=answer.json()["id"]))
            retried.append(f"{item.kind}: {code}")
    return retried


def _probe_submit(system: DrillSystem) -> tuple[str, str | None]:
    """What a client submitting on the second gateway is told while the fault lasts, and
    the id of the job when one was accepted.

    Any answer is recorded; a 500 is a finding (the drill fails on it): trouble behind the
    API must surface as a specific, retryable error.
    """
    body = {"model": "sandbox/text-to-image", "input": {"prompt": "probe", "width": 64}}
    try:
        with system.client("gateway-b") as client:
            client.timeout = httpx.Timeout(8.0)
            answer = client.post("/v1/generations", json=body)
    except httpx.HTTPError as exc:
        return f"no answer ({type(exc).__name__})", None
    if answer.status_code == 202:
        return "202", str(answer.json()["id"])
    try:
        code = " " + str(answer.json().get("code"))
    except ValueError:
        code = " (no JSON body)"
    return f"{answer.status_code}{code}", None


def _wait_probe(system: DrillSystem, job_id: str | None) -> None:
    """Until the probe's job is final too, whatever its end: the storage check must not meet
    its download still in progress (its temp file) as one left behind."""
    if job_id is None:
        return
    deadline = time.monotonic() + DRAIN_SECONDS
    with system.client() as client:
        while time.monotonic() < deadline:
            try:
                if client.get(f"/v1/generations/{job_id}").json()["status"] in FINAL:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.25)


def canary(system: target.DrillSystem) -> float:
    """Seconds until one new image job succeeds (submitted again while the gateway refuses)."""
    started = time.monotonic()
    deadline = started + CANARY_SECONDS
    body = {
        "model": "sandbox/text-to-image",
        "input": {"prompt": "canary", "width": 64, "sandbox_delay": 0.1},
    }
    job_id = None
    with system.client() as client:
        while time.monotonic() < deadline:
            try:
                if job_id is None:
                    answer = client.post("/v1/generations", json=body)
                    if answer.status_code == 202:
                        job_id = answer.json()["id"]
                else:
                    found = client.get(f"/v1/generations/{job_id}").json()
                    if found["status"] == "succeeded":
                        return time.monotonic() - started
                    assert found["status"] not in FINAL, f"canary ended {found}"
            except Exception as exc:
                if isinstance(exc, AssertionError):
                    raise
            time.sleep(0.2)
    raise AssertionError(f"no new job succeeded within {CANARY_SECONDS:.0f}s of mending")


def run_drill(
    system: DrillSystem,
    fault: Fault,
    *,
    receiver: WebhookReceiver,
    extra: Sequence[Extra] = (),
    more_checks: Callable[[DrillSystem, Batch], list[str]] | None = None,
) -> Outcome:
    """``extra``: generations this drill adds to the batch (submitted first);
    ``more_checks``: a drill's own witness (an SSE client, the dead-letter stream), whose
    problems join those of ``checks``."""
    system.ensure_running()
    batch = submit_batch(system, receiver, copies(), extra)
    struck = _wait_moment(system, batch, fault.when)
    if fault.more_work is not None:
        batch.items += fault.more_work(system)
    fault.inject(system)
    try:
        struck_at = time.monotonic()
        submit_during, probe = _probe_submit(system)
        if fault.hold_seconds:
            time.sleep(max(0.0, fault.hold_seconds - (time.monotonic() - struck_at)))
        try:
            with system.client("gateway-b") as client:
                client.timeout = httpx.Timeout(3.0)
                during = dict(Counter(statuses(client, batch).values()))
        except Exception:
            during = {"unanswered": len(batch.items)}
    finally:
        fault.clear(system)
    mended = time.monotonic()
    recovered = canary(system)
    drained_at = wait_all_final(system, batch, timeout=DRAIN_SECONDS)
    retried = _retry_tolerated(system, batch, fault.tolerate)
    if retried:
        wait_all_final(system, batch, timeout=DRAIN_SECONDS)
    _wait_probe(system, probe)
    problems = checks.check_final_states(system, batch)
    if submit_during.startswith("500"):
        problems.append(f"a submit during the fault was answered {submit_during}")
    output_problems, checked = checks.check_outputs(system, batch)
    problems += output_problems
    problems += checks.check_provider_calls(system, batch)
    problems += checks.check_terminal_events(system, batch)
    problems += checks.check_webhooks(system, batch, receiver)
    problems += checks.check_storage(system)
    if more_checks is not None:
        problems += more_checks(system, batch)
    outcome = Outcome(
        fault=fault.name,
        items=len(batch.items),
        outputs_checked=checked,
        recovered_s=round(recovered, 1),
        drained_s=round(max(0.0, drained_at - mended), 1),
        struck=struck,
        during=during,
        submit_during=submit_during,
        after=dict(checks.summary_counts(system, batch)),
        problems=problems,
        batch=batch,
    )
    outcome.retried = retried
    record(outcome)
    return outcome


def record(outcome: Outcome) -> None:
    """Print the drill's line and append it to ``$REELHOUSE_DRILL_REPORT`` when set."""
    print(f"drill {outcome.fault}: {json.dumps(outcome.report())}")
    report = os.environ.get(REPORT_ENV)
    if report:
        with open(report, "a", encoding="utf-8") as sink:
            sink.write(json.dumps(outcome.report()) + "\n")


def assert_clean(outcome: Outcome, system: DrillSystem) -> None:
    """0 lost, 0 duplicated, 0 stuck, no orphans: every check passed."""
    assert not outcome.problems, (
        f"{outcome.fault}: {len(outcome.problems)} problem(s):\n"
        + "\n".join(outcome.problems[:40])
        + "\n"
        + system.report()
    )
