"""The base of every request body: unknown fields refused, text without NUL characters.

PostgreSQL text cannot hold U+0000; letting one through would fail deep in the
driver with a 500, so it is refused up front as a 422 naming the field. Times
likewise: ``0001-01-01T00:00:00+14:00`` is a valid ``datetime`` but has no UTC
value, which every column stores, so it is refused where it is parsed.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, field_validator

NO_NUL = r"^[^\x00]*$"


def in_utc(value: datetime) -> datetime:
    """``value`` in UTC (a time without offset is taken as UTC already).

    Raises ``ValueError`` when UTC cannot hold it: an offset can move a time
    past year 1 or year 9999, where ``datetime`` ends.
    """
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    try:
        return value.astimezone(UTC)
    except OverflowError:
        raise ValueError("the time is out of range once converted to UTC") from None


# Query parameters: any ISO 8601 time / one with an offset, converted to UTC.
UtcTime = Annotated[datetime, AfterValidator(in_utc)]
AwareUtcTime = Annotated[AwareDatetime, AfterValidator(in_utc)]


def _has_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, list | tuple):
        return any(_has_nul(v) for v in value)
    return False


class InputModel(BaseModel):
    model_config = ConfigDict(extra="forbid")

    @field_validator("*", mode="after")
    @classmethod
    def _no_nul(cls, value: Any) -> Any:
        if _has_nul(value):
            raise ValueError("must not contain NUL characters")
        return value
