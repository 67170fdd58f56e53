"""API shapes of the admin bulk operations (``/v1/admin/generations/retry`` and ``/cancel``)."""

from __future__ import annotations

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from reelhouse.gateway.jobs.filters import MAX_VALUE_LENGTH, MAX_VALUES


class BulkRequest(BaseModel):
    """Which jobs to act on (all filters apply together) and whether to act at all."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"status": ["failed"], "error_code": ["provider_timeout"], "dry_run": True}
            ]
        },
    )

    status: list[str] | None = Field(
        default=None, max_length=MAX_VALUES, description="Only jobs in these statuses"
    )
    error_code: list[str] | None = Field(
        default=None, max_length=MAX_VALUES, description="Only jobs that failed with these codes"
    )
    model: list[str] | None = Field(
        default=None, max_length=MAX_VALUES, description="Only jobs of these model ids"
    )
    created_after: AwareDatetime | None = Field(
        default=None, description="Only jobs created at or after this time (RFC 3339)"
    )
    created_before: AwareDatetime | None = Field(
        default=None, description="Only jobs created before this time (RFC 3339)"
    )
    owner: str | None = Field(
        default=None,
        min_length=1,
        max_length=MAX_VALUE_LENGTH,
        description="Only this owner's jobs; unset: every owner's",
    )
    dry_run: bool = Field(
        default=False, description="Count and list the first matching ids without acting"
    )
    limit: int | None = Field(
        default=None,
        ge=1,
        description="Act on at most this many jobs (oldest first); default and maximum: "
        "the deployment's REELHOUSE_RETRY__BULK_MAX_JOBS",
    )


class BulkOutcome(BaseModel):
    job_id: str
    retry_id: str | None = Field(default=None, description="The new job (retry only)")
    skipped: str | None = Field(
        default=None, description="Why the job was left alone (an error code), if it was"
    )


class BulkResponse(BaseModel):
    dry_run: bool
    matched: int = Field(description="How many jobs match now (may exceed `limit`)")
    limit: int = Field(description="The most jobs this call acts on")
    job_ids: list[str] = Field(
        description="The jobs this call acts on (dry run: would act on), oldest first"
    )
    results: list[BulkOutcome] = Field(description="What happened to each job (empty on a dry run)")
