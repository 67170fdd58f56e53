"""Which jobs a list (or an admin bulk operation) is about: status, model, error code, time.

Each list filter takes several values, repeated (``?status=failed&status=canceled``) or
comma-separated (``?status=failed,canceled``); values of one filter are alternatives
(OR), different filters all apply (AND). Times are RFC 3339 with a zone;
``created_after`` is inclusive, ``created_before`` exclusive.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import Annotated

from fastapi import Query
from pydantic import AwareDatetime, StringConstraints
from sqlalchemy import ColumnElement

from reelhouse.common.jobstate import JobStatus
from reelhouse.gateway.db.models import Job
from reelhouse.gateway.problems import FieldError, ProblemError

# bounds on what one filter may list, and on each value
MAX_VALUES = 20
MAX_VALUE_LENGTH = 200
# repeats of one filter in a query string (the whole URL stays well under servers' limits)
MAX_QUERY_ITEMS = 10
_QUOTED = 40


@dataclass(frozen=True, slots=True)
class JobFilter:
    """Empty sets mean "any"; ``owner_id`` None means every owner (admin operations only)."""

    owner_id: str | None
    statuses: frozenset[JobStatus] = frozenset()
    models: frozenset[str] = frozenset()
    error_codes: frozenset[str] = frozenset()
    created_after: AwareDatetime | None = None
    created_before: AwareDatetime | None = None

    def for_owner(self, owner_id: str | None) -> JobFilter:
        return replace(self, owner_id=owner_id)

    def conditions(self) -> list[ColumnElement[bool]]:
        found: list[ColumnElement[bool]] = []
        if self.owner_id is not None:
            found.append(Job.owner_id == self.owner_id)
        if self.statuses:
            found.append(Job.status.in_(sorted(s.value for s in self.statuses)))
        if self.models:
            found.append(Job.model.in_(sorted(self.models)))
        if self.error_codes:
            found.append(Job.error_code.in_(sorted(self.error_codes)))
        if self.created_after is not None:
            found.append(Job.created_at >= self.created_after)
        if self.created_before is not None:
            found.append(Job.created_at < self.created_before)
        return found


def split_values(raw: Iterable[str] | None, *, path: str) -> frozenset[str]:
    """Repeated and comma-separated values, blanks dropped; each bounded in length."""
    # bounded by the declared shapes: at most MAX_VALUES items of MAX_VALUE_LENGTH characters
    values = [v.strip() for item in raw or () for v in item.split(",") if v.strip()]
    for value in values:
        if len(value) > MAX_VALUE_LENGTH:
            raise ProblemError(
                "validation_error",
                errors=[
                    FieldError(path=path, message=f"values are at most {MAX_VALUE_LENGTH} long")
                ],
            )
    return frozenset(values)


def parse_statuses(raw: Iterable[str] | None, *, path: str) -> frozenset[JobStatus]:
    values = split_values(raw, path=path)
    known = {s.value for s in JobStatus}
    bad = sorted(values - known)
    if bad:
        raise ProblemError(
            "validation_error",
            errors=[
                FieldError(
                    path=path,
                    message=f"unknown status {bad[0][:_QUOTED]!r}; one of: "
                    + ", ".join(s.value for s in JobStatus),
                )
            ],
        )
    return frozenset(JobStatus(v) for v in values)


def build_filter(
    *,
    owner_id: str | None,
    status: Iterable[str] | None,
    model: Iterable[str] | None,
    error_code: Iterable[str] | None,
    created_after: AwareDatetime | None,
    created_before: AwareDatetime | None,
    prefix: str,
) -> JobFilter:
    """A filter from raw values; ``prefix`` (``query`` or ``body``) starts every error path."""
    if created_after is not None and created_before is not None and created_after >= created_before:
        raise ProblemError(
            "validation_error",
            errors=[
                FieldError(path=f"{prefix}.created_before", message="must be after created_after")
            ],
        )
    return JobFilter(
        owner_id=owner_id,
        statuses=parse_statuses(status, path=f"{prefix}.status"),
        models=split_values(model, path=f"{prefix}.model"),
        error_codes=split_values(error_code, path=f"{prefix}.error_code"),
        created_after=created_after,
        created_before=created_before,
    )


# the shapes of model ids and error codes (comma lists allowed): anything else is a 422
ModelIds = Annotated[
    str,
    StringConstraints(
        max_length=2000, pattern=r"^[A-Za-z][A-Za-z0-9._/-]*(,[A-Za-z][A-Za-z0-9._/-]*)*$"
    ),
]
_STATUS = "(" + "|".join(s.value for s in JobStatus) + ")"
Statuses = Annotated[
    str, StringConstraints(max_length=MAX_VALUE_LENGTH, pattern=rf"^{_STATUS}(,{_STATUS})*$")
]
ErrorCodes = Annotated[
    str,
    StringConstraints(max_length=MAX_VALUE_LENGTH, pattern=r"^[a-z][a-z0-9_]*(,[a-z][a-z0-9_]*)*$"),
]


def list_filter(
    status: Annotated[
        list[Statuses] | None,
        Query(
            max_length=MAX_QUERY_ITEMS,
            description="Only jobs in these statuses (repeat, or comma-separate)",
        ),
    ] = None,
    model: Annotated[
        list[ModelIds] | None,
        Query(
            max_length=MAX_QUERY_ITEMS,
            description="Only jobs of these model ids (repeat, or comma list)",
        ),
    ] = None,
    error_code: Annotated[
        list[ErrorCodes] | None,
        Query(
            max_length=MAX_QUERY_ITEMS,
            description="Only failed jobs with these error codes (repeat, or comma list)",
        ),
    ] = None,
    created_after: Annotated[
        AwareDatetime | None,
        Query(description="Only jobs created at or after this time (RFC 3339, with a zone)"),
    ] = None,
    created_before: Annotated[
        AwareDatetime | None,
        Query(description="Only jobs created before this time (RFC 3339, with a zone)"),
    ] = None,
) -> JobFilter:
    """The ``GET /v1/generations`` filters (the owner is set by the caller's key)."""
    return build_filter(
        owner_id=None,
        status=status,
        model=model,
        error_code=error_code,
        created_after=created_after,
        created_before=created_before,
        prefix="query",
    )
