"""``python -m reelhouse.gateway keys create|list|revoke`` (and the older ``create-key``).

Each command opens its own engine on ``REELHOUSE_DATABASE_URL`` (migrating it first), so an
operator can manage keys with no gateway running. ``create`` prints the key alone on stdout
(``KEY=$(… keys create --owner alice)``) and its details on stderr.
"""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import TextIO

from sqlalchemy.ext.asyncio import AsyncSession

from reelhouse.gateway.auth import service
from reelhouse.gateway.auth.scopes import ALL_SCOPES, DEFAULT_SCOPES, Scope
from reelhouse.gateway.auth.service import IssuedKey
from reelhouse.gateway.db.engine import create_engine, create_sessionmaker
from reelhouse.gateway.db.migrate import run_migrations
from reelhouse.gateway.db.models import ApiKey

LIST_PAGE = 100


class CliError(Exception):
    """A command that cannot be done as asked; the message is for the operator."""


@asynccontextmanager
async def _session(database_url: str) -> AsyncIterator[AsyncSession]:
    engine = create_engine(database_url)
    try:
        await run_migrations(engine)
        async with create_sessionmaker(engine).begin() as session:
            yield session
    finally:
        await engine.dispose()


async def issue_api_key(
    database_url: str,
    *,
    owner_id: str,
    name: str,
    scopes: tuple[Scope, ...] = DEFAULT_SCOPES,
    expires_at: datetime | None = None,
) -> IssuedKey:
    """A new key, on its own engine."""
    async with _session(database_url) as session:
        return await service.issue_key(
            session, owner_id=owner_id, name=name, scopes=scopes, expires_at=expires_at
        )


async def list_api_keys(database_url: str, *, owner_id: str | None) -> list[ApiKey]:
    """Every key (of ``owner_id``), newest first, page by page."""
    rows: list[ApiKey] = []
    cursor: str | None = None
    async with _session(database_url) as session:
        while True:
            page, cursor = await service.list_api_keys(
                session, owner_id=owner_id, limit=LIST_PAGE, cursor=cursor
            )
            rows.extend(page)
            if cursor is None:
                return rows


async def revoke_api_key(database_url: str, *, key_id: str) -> ApiKey:
    async with _session(database_url) as session:
        row = await service.revoke_api_key(session, key_id)
    if row is None:
        raise CliError(f"no API key with id {key_id!r}")
    return row


def _scopes(value: str) -> tuple[Scope, ...]:
    names = [name.strip() for name in value.split(",") if name.strip()]
    unknown = [name for name in names if name not in ALL_SCOPES]
    if unknown or not names:
        raise argparse.ArgumentTypeError(
            f"scopes are a comma-separated subset of {','.join(ALL_SCOPES)} (got {value!r})"
        )
    return tuple(scope for scope in ALL_SCOPES if scope in names)


def _expiry(value: str) -> datetime:
    try:
        moment = datetime.fromisoformat(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(
            f"--expires-at takes an ISO 8601 time such as 2027-01-01T00:00:00Z (got {value!r})"
        ) from exc
    moment = moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
    if moment <= datetime.now(UTC):
        raise argparse.ArgumentTypeError("--expires-at must lie in the future")
    return moment.astimezone(UTC)


def add_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """``keys create|list|revoke`` and the deprecated alias ``create-key``."""
    keys = commands.add_parser("keys", help="manage API keys: create, list, revoke")
    actions = keys.add_subparsers(dest="keys_command", required=True)
    create = actions.add_parser("create", help="create an API key and print it once")
    _create_arguments(create)
    create.add_argument(
        "--expires-at",
        type=_expiry,
        default=None,
        help="when the key stops working (ISO 8601; UTC when no zone is given)",
    )
    listing = actions.add_parser("list", help="list keys (never the keys themselves)")
    listing.add_argument("--owner", default=None, help="only this owner's keys")
    revoke = actions.add_parser("revoke", help="revoke a key by its id (from `keys list`)")
    revoke.add_argument("id", help="the key's id")

    legacy = commands.add_parser(
        "create-key", help="deprecated: use `keys create` (creates a key, prints it once)"
    )
    _create_arguments(legacy)


def _create_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--owner", required=True, help="the owner every query is scoped to")
    parser.add_argument("--name", default="cli", help="a label to tell keys apart")
    parser.add_argument(
        "--scopes",
        type=_scopes,
        default=DEFAULT_SCOPES,
        help=f"comma-separated, of {','.join(ALL_SCOPES)} (default: {','.join(DEFAULT_SCOPES)})",
    )


def _when(value: datetime | None) -> str:
    return value.isoformat().replace("+00:00", "Z") if value is not None else "-"


def _describe(row: ApiKey) -> str:
    return "\t".join(
        [
            row.id,
            row.prefix,
            row.owner_id,
            row.name,
            ",".join(row.scopes),
            _when(row.created_at),
            _when(row.last_used_at),
            _when(row.expires_at),
            _when(row.revoked_at),
        ]
    )


HEADER = "\t".join(
    ["id", "prefix", "owner", "name", "scopes", "created", "last_used", "expires", "revoked"]
)


def run(args: argparse.Namespace, *, database_url: str, out: TextIO, err: TextIO) -> int:
    """Carry out a ``keys …`` or ``create-key`` command; the exit status."""
    command = "create" if args.command == "create-key" else args.keys_command
    try:
        if command == "create":
            issued = asyncio.run(
                issue_api_key(
                    database_url,
                    owner_id=args.owner,
                    name=args.name,
                    scopes=args.scopes,
                    expires_at=getattr(args, "expires_at", None),
                )
            )
            out.write(issued.key + "\n")
            err.write(HEADER + "\n" + _describe(issued.row) + "\n")
        elif command == "list":
            rows = asyncio.run(list_api_keys(database_url, owner_id=args.owner))
            out.write(HEADER + "\n")
            out.writelines(_describe(row) + "\n" for row in rows)
        else:
            row = asyncio.run(revoke_api_key(database_url, key_id=args.id))
            out.write(f"revoked {row.id} ({row.prefix}…, owner {row.owner_id})\n")
    except CliError as exc:
        err.write(f"reelhouse gateway: {exc}\n")
        return 1
    return 0
