"""Domain-level errors. Pure Python; the HTTP layer maps them to problem+json."""


class DomainError(Exception):
    status = 400
    title = "Bad request"

    def __init__(self, detail: str, **extra: object) -> None:
        super().__init__(detail)
        self.detail = detail
        self.extra = extra


class NotFound(DomainError):
    status = 404
    title = "Not found"


class Conflict(DomainError):
    status = 409
    title = "Conflict"


class Forbidden(DomainError):
    """The caller may not do this (e.g. a link whose signature does not hold)."""

    status = 403
    title = "Forbidden"


class Invalid(DomainError):
    status = 422
    title = "Unprocessable content"


class VersionConflict(Conflict):
    title = "Concurrent update"


class RetryLater(Exception):
    """A message that cannot be handled yet (e.g. a prerequisite event not seen); redeliver."""


class Unprocessable(Exception):
    """A well-formed message that can never be handled; dead-letter it at once."""
