"""Users, roles and API-key scopes."""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    """A user's role. A partner manages the users it created (HaasOnline white-label)."""

    USER = "user"
    PARTNER = "partner"


class Scope(StrEnum):
    """What an API key may do. Each scope includes the ones below it."""

    READ = "read"
    TRADE = "trade"
    FULL = "full"

    @property
    def rank(self) -> int:
        return _RANK[self]

    def allows(self, needed: Scope) -> bool:
        """True when this scope covers ``needed``."""
        return self.rank >= needed.rank


_RANK = {Scope.READ: 0, Scope.TRADE: 1, Scope.FULL: 2}
