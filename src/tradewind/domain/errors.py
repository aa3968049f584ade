"""The one family of domain errors. Each API maps them to its own codes and envelope."""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    """Base of every error a service may raise on purpose."""

    code = "error"

    def __init__(self, message: str, *, details: Any = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details


class NotFound(DomainError):
    """The object does not exist, or belongs to someone else."""

    code = "not_found"


class Conflict(DomainError):
    """The request collides with existing state (duplicate email, ...)."""

    code = "conflict"


class InvalidTransition(Conflict):
    """A status change the transition table does not allow."""

    code = "invalid_transition"


class ValidationFailed(DomainError):
    """Input is well-formed JSON but breaks a rule; ``details`` names the fields."""

    code = "validation_error"


class Unauthenticated(DomainError):
    """No credentials, or credentials that are wrong, expired or revoked."""

    code = "unauthenticated"


class Forbidden(DomainError):
    """Authenticated, but the credentials' scope or role does not allow this."""

    code = "forbidden"


class RateLimited(DomainError):
    """Too many requests; ``retry_after`` is in seconds."""

    code = "rate_limited"

    def __init__(self, message: str, *, retry_after: float, details: Any = None) -> None:
        super().__init__(message, details=details)
        self.retry_after = retry_after


class InsufficientFunds(DomainError):
    """Not enough balance or margin for the order."""

    code = "insufficient_funds"


class VenueUnavailable(DomainError):
    """The venue cannot be reached right now."""

    code = "venue_unavailable"


class MissingCredentials(Unauthenticated):
    """No credentials were sent at all (some APIs answer this differently from bad ones)."""

    code = "missing_credentials"
