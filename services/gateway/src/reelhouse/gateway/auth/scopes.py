"""What an API key may do: ``generate`` (submit, cancel), ``read`` (jobs, events, models),
``admin`` (manage keys, for every owner)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Literal, get_args

Scope = Literal["generate", "read", "admin"]

ALL_SCOPES: tuple[Scope, ...] = get_args(Scope)
# keys made without naming scopes, and keys from before scopes existed (see migration 0003)
DEFAULT_SCOPES: tuple[Scope, ...] = ("generate", "read")


def ordered(scopes: Iterable[str]) -> list[Scope]:
    """Known scopes of ``scopes``, once each, in the catalogue's order (unknown ones dropped)."""
    given = set(scopes)
    return [scope for scope in ALL_SCOPES if scope in given]
