from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, EmailStr, Field, StringConstraints

from cloudcx.accounts.models import Role
from cloudcx.api.inputs import InputModel
from cloudcx.core.passwords import MAX_LENGTH, MIN_LENGTH

UserName = Annotated[str, StringConstraints(max_length=200, strip_whitespace=True)]


class UserCreate(InputModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "email": "grace@example.com",
                    "name": "Grace Hopper",
                    "role": "agent",
                    "password": "an-initial-passw0rd-to-change",
                }
            ]
        },
    )

    email: EmailStr = Field(max_length=320)
    name: UserName = ""
    role: Role = Role.AGENT
    password: str = Field(
        min_length=MIN_LENGTH, max_length=MAX_LENGTH, description="Initial password."
    )


class UserUpdate(InputModel):
    """Change a user's name or role, or deactivate them (``is_active: false``)."""

    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"role": "admin"}, {"is_active": False}]}
    )

    name: UserName | None = None
    role: Role | None = None
    is_active: bool | None = Field(
        None, description="false revokes the user's tokens, API keys' use and sessions."
    )


class UserPublic(BaseModel):
    model_config = ConfigDict(
        from_attributes=True,
        json_schema_extra={
            "examples": [
                {
                    "id": "9a8b7c6d-5e4f-4a3b-2c1d-0e9f8a7b6c5d",
                    "email": "grace@example.com",
                    "name": "Grace Hopper",
                    "role": "agent",
                    "is_active": True,
                    "created_at": "2026-02-01T08:00:00Z",
                    "updated_at": "2026-02-01T08:00:00Z",
                }
            ]
        },
    )

    id: uuid.UUID
    email: str
    name: str
    role: Role
    is_active: bool
    created_at: datetime
    updated_at: datetime
