"""Who is calling: the owner every query is scoped to, and what the key may do."""

from __future__ import annotations

from dataclasses import dataclass

from reelhouse.gateway.auth.scopes import Scope


@dataclass(frozen=True, slots=True)
class Principal:
    """The owner every query of this request is scoped to, and the key's scopes."""

    owner_id: str
    key_id: str
    scopes: frozenset[Scope] = frozenset()

    def may(self, scope: Scope) -> bool:
        return scope in self.scopes
