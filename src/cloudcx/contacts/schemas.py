from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Self

from email_validator import EmailNotValidError, validate_email
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    JsonValue,
    StringConstraints,
    model_validator,
)

from cloudcx.api.inputs import InputModel
from cloudcx.tickets.schemas import Tags


def _email(value: str | None) -> str | None:
    if value is None or not value.strip():
        return None
    try:
        return validate_email(value.strip(), check_deliverability=False).normalized
    except EmailNotValidError as exc:
        raise ValueError(f"not a valid email address: {exc}") from exc


Name = Annotated[str, StringConstraints(max_length=100, strip_whitespace=True)]
Text200 = Annotated[str, StringConstraints(max_length=200, strip_whitespace=True)]
Email = Annotated[str | None, Field(max_length=320), AfterValidator(_email)]
Phone = Annotated[
    str | None,
    StringConstraints(max_length=40, pattern=r"^\+?[0-9 ().\-]{3,40}$", strip_whitespace=True),
]
Notes = Annotated[str, Field(max_length=10_000)]

_EXAMPLE: dict[str, JsonValue] = {
    "first_name": "Ada",
    "last_name": "Lovelace",
    "email": "ada@example.com",
    "phone": "+44 20 7946 0000",
    "company": "Analytical Engines Ltd",
    "job_title": "CTO",
    "tags": ["vip"],
    "notes": "Prefers email.",
}


class ContactCreate(InputModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [_EXAMPLE]})

    first_name: Name = ""
    last_name: Name = ""
    email: Email = None
    phone: Phone = None
    company: Text200 = ""
    job_title: Text200 = ""
    tags: Tags = []
    notes: Notes = ""

    @model_validator(mode="after")
    def _identifiable(self) -> Self:
        if not (self.first_name or self.last_name or self.email or self.phone):
            raise ValueError("a contact needs a name, an email or a phone number")
        return self


class ContactUpdate(InputModel):
    """Only the fields sent are changed; ``null`` clears email or phone."""

    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"job_title": "CEO"}]}
    )

    first_name: Name | None = None
    last_name: Name | None = None
    email: Email = None
    phone: Phone = None
    company: Text200 | None = None
    job_title: Text200 | None = None
    tags: Tags | None = None
    notes: Notes | None = None


class ContactPublic(BaseModel):
    model_config = ConfigDict(
        from_attributes=True,
        json_schema_extra={
            "examples": [
                {
                    **_EXAMPLE,
                    "id": "6f1c2a52-3b1e-4a4e-9a55-0d3c1c6b9f10",
                    "name": "Ada Lovelace",
                    "created_at": "2026-03-01T12:00:00Z",
                    "updated_at": "2026-03-01T12:00:00Z",
                }
            ]
        },
    )

    id: uuid.UUID
    first_name: str
    last_name: str
    name: str = Field(description="Display name: full name, else email or phone.")
    email: str | None
    phone: str | None
    company: str
    job_title: str
    tags: list[str]
    notes: str
    created_at: datetime
    updated_at: datetime
