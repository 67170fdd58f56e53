"""A job's deadlines: the request may shorten the deployment's default within its limits."""

from __future__ import annotations

from dataclasses import dataclass

from reelhouse.gateway.problems import FieldError, ProblemError
from reelhouse.gateway.settings import Settings

MIN_DEADLINE_SECONDS = 10


@dataclass(frozen=True, slots=True)
class DeadlineLimits:
    default_seconds: int
    max_seconds: int
    # None: no start deadline unless the request sets one
    default_start_seconds: int | None = None

    @classmethod
    def of(cls, settings: Settings) -> DeadlineLimits:
        """The deployment's limits (``REELHOUSE_DEFAULT_DEADLINE_SECONDS`` and its kin)."""
        return cls(
            default_seconds=settings.default_deadline_seconds,
            max_seconds=settings.max_deadline_seconds,
            default_start_seconds=settings.default_start_deadline_seconds,
        )

    def resolve(
        self, *, deadline_seconds: int | None, start_deadline_seconds: int | None
    ) -> tuple[int, int | None]:
        """``(deadline, start deadline)`` for a request, or a 422 naming the field."""
        deadline = deadline_seconds or self.default_seconds
        errors: list[FieldError] = []
        if not MIN_DEADLINE_SECONDS <= deadline <= self.max_seconds:
            errors.append(
                FieldError(
                    path="deadline_seconds",
                    message=f"must be between {MIN_DEADLINE_SECONDS} and {self.max_seconds}",
                )
            )
        start = start_deadline_seconds
        if start is not None and start >= deadline:
            # the deadline would overtake it: left out, as a default would be (no refusal, so
            # a body valid by the OpenAPI document is accepted)
            start = None
        if errors:
            raise ProblemError("validation_error", errors=errors)
        if start_deadline_seconds is None and self.default_start_seconds is not None:
            # a default that the (shorter) deadline would overtake anyway is left out
            start = self.default_start_seconds if self.default_start_seconds < deadline else None
        return deadline, start
