"""The one error hierarchy of the suite.

Every rule the core refuses raises a ``CafeError`` with a stable machine code and a
sentence a person can act on. The server turns it into JSON ``{code, message}`` and the
command line into one readable line; nothing upstream needs to parse messages.
"""

from __future__ import annotations


class CafeError(Exception):
    """A refusal with a stable ``code``, a human ``message`` and the HTTP status it maps to."""

    code = "cafe_error"
    http_status = 400

    def __init__(self, message: str, *, code: str | None = None, http_status: int | None = None):
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        if http_status is not None:
            self.http_status = http_status

    def __str__(self) -> str:
        return self.message


class ValidationError(CafeError):
    """Input that breaks a format or a domain rule (bad amount, unknown kind, …)."""

    code = "invalid"
    http_status = 422


class UnitMismatchError(ValidationError):
    """Arithmetic or comparison between different units (credits vs cash, USD vs EUR)."""

    code = "unit_mismatch"


class CanonicalJSONError(ValidationError):
    """A value that canonical JSON cannot carry (float, NaN, non-string key, …)."""

    code = "not_canonical"


class IntegrityError(CafeError):
    """Stored data that does not match its hash, link or signature."""

    code = "integrity"
    http_status = 409
