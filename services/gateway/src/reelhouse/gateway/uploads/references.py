"""``upload://upl_…`` in a generation's input: checked on submit, resolved to object keys.

Every string of an input declared ``"format": "uri"`` that starts with ``upload:`` must name
an upload of the submitting owner; each is marked used (in the submit's transaction) and
``GenerationRequested.input_objects`` maps it to its object key. The job's input keeps the
reference as written. One that does not resolve is a field error at its path (422
``validation_error``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from reelhouse.common.events import utcnow
from reelhouse.gateway.catalog.uris import uri_strings
from reelhouse.gateway.problems import FieldError, ProblemError
from reelhouse.gateway.uploads import repository
from reelhouse.gateway.uploads.service import REFERENCE_SCHEME, is_upload_id

PREFIX = f"{REFERENCE_SCHEME}://"


def upload_references(schema: Mapping[str, Any], input_: Any) -> list[tuple[str, str]]:
    """``(path, reference)`` of every ``upload:`` string among the input's URI fields."""
    return [
        (path, value)
        for path, value in uri_strings(schema, input_)
        if value.partition(":")[0].lower() == REFERENCE_SCHEME
    ]


async def resolve_references(
    session: AsyncSession,
    *,
    owner_id: str,
    schema: Mapping[str, Any],
    input_: Any,
    detail: str,
) -> dict[str, str]:
    """``{reference: object key}`` for the input's upload references, each marked used now."""
    found: dict[str, str] = {}
    errors: list[FieldError] = []
    now = utcnow()
    for path, reference in upload_references(schema, input_):
        if reference in found:
            continue
        upload_id = reference[len(PREFIX) :] if reference.startswith(PREFIX) else ""
        key = (
            await repository.mark_used(session, owner_id=owner_id, upload_id=upload_id, now=now)
            if is_upload_id(upload_id)
            else None
        )
        if key is None:
            errors.append(FieldError(path=path, message=f"no such upload: {reference}"))
        else:
            found[reference] = key
    if errors:
        raise ProblemError("validation_error", detail, errors=errors)
    return found
