"""``upload://upl_…`` in a generation's input: checked on submit, resolved to object keys.

Every string of an input declared ``"format": "uri"`` that starts with ``upload:`` must name
an upload of the submitting owner; each is marked used (in the submit's transaction) and
``GenerationRequested.input_objects`` maps it to its object key. The job's input keeps the
reference as written. One that does not resolve, or names an upload of another media type
than the field's ``contentMediaType`` (audio where an image is wanted), is a field error at its
path (422 ``validation_error``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from reelhouse.common.events import utcnow
from reelhouse.gateway.catalog.uris import UriField, media_type_matches, uri_fields
from reelhouse.gateway.problems import FieldError, ProblemError
from reelhouse.gateway.uploads import repository
from reelhouse.gateway.uploads.service import REFERENCE_SCHEME, is_upload_id

PREFIX = f"{REFERENCE_SCHEME}://"


def upload_references(schema: Mapping[str, Any], input_: Any) -> list[UriField]:
    """Every ``upload:`` string among the input's URI fields."""
    return [
        field
        for field in uri_fields(schema, input_)
        if field.value.partition(":")[0].lower() == REFERENCE_SCHEME
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
    used: dict[str, repository.UsedUpload | None] = {}
    for field in upload_references(schema, input_):
        reference = field.value
        if reference not in used:
            upload_id = reference[len(PREFIX) :] if reference.startswith(PREFIX) else ""
            used[reference] = (
                await repository.mark_used(session, owner_id=owner_id, upload_id=upload_id, now=now)
                if is_upload_id(upload_id)
                else None
            )
        upload = used[reference]
        if upload is None:
            errors.append(FieldError(path=field.path, message=f"no such upload: {reference}"))
        elif field.media_type is not None and not media_type_matches(
            field.media_type, upload.content_type
        ):
            errors.append(
                FieldError(
                    path=field.path,
                    message=f"{reference} is {upload.content_type}; this input takes "
                    f"{field.media_type}",
                )
            )
        else:
            found[reference] = upload.object_key
    if errors:
        raise ProblemError("validation_error", detail, errors=errors)
    return found
