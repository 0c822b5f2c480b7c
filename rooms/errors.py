"""Domain errors carry the contract's error code; the web layer maps them to HTTP and frames."""

from __future__ import annotations


class DomainError(Exception):
    """A refusal the client should see, with the contract's code and an HTTP status."""

    code = "internal"
    status = 500

    def __init__(self, message: str, *, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.retry_after = retry_after


class BadRequest(DomainError):
    code, status = "bad_request", 400


class WeakPassword(DomainError):
    """A new password that is too short or too common."""

    code, status = "weak_password", 400


class Unauthenticated(DomainError):
    code, status = "unauthenticated", 401


class BadCredentials(DomainError):
    code, status = "bad_credentials", 401


class Forbidden(DomainError):
    code, status = "forbidden", 403


class NotFound(DomainError):
    code, status = "not_found", 404


class Conflict(DomainError):
    code, status = "conflict", 409


class Gone(DomainError):
    """A one-time link that was used or has expired."""

    code, status = "gone", 410


class TooLarge(DomainError):
    code, status = "too_large", 413


class RateLimited(DomainError):
    code, status = "rate_limited", 429


class Muted(DomainError):
    code, status = "muted", 403


class RoomLocked(DomainError):
    code, status = "room_locked", 403


class BadFrame(DomainError):
    """A frame whose fields parse but name something it may not use (a `send`'s files)."""

    code, status = "bad_frame", 400


class UnsupportedType(DomainError):
    code, status = "unsupported_type", 415


class Infected(DomainError):
    code, status = "infected", 422


class Unavailable(DomainError):
    """A component the request needs is down; the client may try again later."""

    code, status = "unavailable", 503
