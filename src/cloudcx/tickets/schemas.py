from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, ConfigDict

from cloudcx.tickets.models import TicketStatus


class TicketPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    number: int
    subject: str
    status: TicketStatus
    created_at: datetime
    updated_at: datetime


class TicketList(BaseModel):
    data: list[TicketPublic]
    next_cursor: str | None = None
