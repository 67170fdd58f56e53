"""``gen.cancel.v1``: tell the provider, and let what it confirms decide the job's end.

- nothing submitted yet (or between two routes) → the job is canceled here;
- the provider confirms the cancel → GenerationCanceled;
- it had already finished (a cancel race) → nothing here: the poll reads the final
  state and the job carries on (output, or failure);
- it accepted the cancel for later → the poll sees ``canceled`` and ends the job.

A confirmed cancel reads the request once more, best effort, for what the provider used
until then (its ``usage``: a canceled prediction that ran is still billed).

The outcome claim in the dispatch record makes output and canceled exclusive.
"""

from __future__ import annotations

import structlog

from reelhouse.common.errors import PermanentError, ReelhouseError
from reelhouse.common.events import CancelRequested, ProviderUsage
from reelhouse.dispatcher.outcomes import JobEvents
from reelhouse.dispatcher.providers.base import ProviderAdapter
from reelhouse.dispatcher.providers.registry import ProviderRegistry
from reelhouse.dispatcher.records import DispatchRecords

log = structlog.get_logger(__name__)


class Canceller:
    def __init__(
        self, *, events: JobEvents, records: DispatchRecords, registry: ProviderRegistry
    ) -> None:
        self.events = events
        self.records = records
        self.registry = registry

    async def cancel(self, command: CancelRequested) -> None:
        record = await self.records.update(
            command.job_id,
            lambda r: r if r.canceled else r.model_copy(update={"canceled": True}),
        )
        if record.outcome is not None:
            log.info("cancel.too_late", outcome=record.outcome)
            if record.outcome == "canceled":
                await self.events.canceled(command.job_id)  # a redelivery: publish again
            return
        if record.provider is None or record.provider_request_id is None:
            await self.events.canceled(command.job_id)
            return
        adapter = self.registry.find(record.provider)
        if adapter is None:
            log.warning("cancel.unknown_provider", provider=record.provider)
            await self.events.canceled(command.job_id)
            return
        try:
            answer = await adapter.cancel(record.provider_model or "", record.provider_request_id)
        except PermanentError as exc:  # the provider refused: the poll still decides the end
            log.warning("cancel.refused", code=exc.code, detail=exc.detail)
            return
        log.info("cancel.answered", answer=answer)
        if answer == "canceled":
            usage = await _usage_after_cancel(
                adapter, record.provider_model or "", record.provider_request_id
            )
            await self.events.canceled(command.job_id, usage=usage)


async def _usage_after_cancel(
    adapter: ProviderAdapter, model: str, request_id: str
) -> ProviderUsage | None:
    """What the provider reports the canceled request used; None when it cannot say now."""
    try:
        state = await adapter.get(model, request_id)
    except ReelhouseError as exc:
        log.info("cancel.usage_unknown", code=exc.code)
        return None
    return state.usage
