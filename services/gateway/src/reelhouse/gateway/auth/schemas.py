"""API shapes of API keys (``/v1/keys``): the key itself appears only in ``KeyCreated``."""

from __future__ import annotations

from datetime import datetime

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from reelhouse.gateway.auth.scopes import DEFAULT_SCOPES, Scope, ordered
from reelhouse.gateway.db.models import ApiKey

OWNER_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._:@-]*$"
MAX_PAGE_SIZE = 100
DEFAULT_PAGE_SIZE = 50


class KeyCreate(BaseModel):
    """A new API key for ``owner`` (any owner: the caller is an admin)."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "owner": "alice",
                    "name": "alice's web app",
                    "scopes": ["generate", "read"],
                    "expires_at": "2027-01-01T00:00:00Z",
                }
            ]
        },
    )

    owner: str = Field(
        min_length=1,
        max_length=64,
        pattern=OWNER_PATTERN,
        description="The owner the key acts for: every job it makes or sees is this owner's",
    )
    name: str = Field(
        default="api", min_length=1, max_length=100, description="A label to tell keys apart"
    )
    scopes: list[Scope] = Field(
        default_factory=lambda: list(DEFAULT_SCOPES),
        min_length=1,
        max_length=3,
        description="What the key may do: `generate` (submit, cancel), `read` (jobs, events, "
        "models), `admin` (manage keys of every owner)",
    )
    expires_at: AwareDatetime | None = Field(
        default=None,
        description="When the key stops working (RFC 3339 with a time zone); never when absent",
    )


class KeyOut(BaseModel):
    """An API key as listed: never the key itself."""

    id: str
    owner: str
    name: str
    prefix: str = Field(description="The key's first characters, to tell keys apart")
    scopes: list[Scope]
    created_at: datetime
    expires_at: datetime | None
    last_used_at: datetime | None = Field(
        description="When the key was last used, to within a minute"
    )
    revoked_at: datetime | None

    @classmethod
    def of(cls, row: ApiKey) -> KeyOut:
        return cls(
            id=row.id,
            owner=row.owner_id,
            name=row.name,
            prefix=row.prefix,
            scopes=ordered(row.scopes),
            created_at=row.created_at,
            expires_at=row.expires_at,
            last_used_at=row.last_used_at,
            revoked_at=row.revoked_at,
        )


class KeyCreated(KeyOut):
    """A new API key, with the key itself: store it now, it is never shown again."""

    key: str = Field(description="The API key; returned this once, only a hash is kept")


class KeyPage(BaseModel):
    data: list[KeyOut]
    next_cursor: str | None = Field(
        description="Pass as `cursor` for the next page; null at the end"
    )
