from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, computed_field


class AuditEventPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    time: datetime
    action: str
    actor_type: str
    actor_id: str
    actor_label: str
    target_type: str
    target_id: str
    target_label: str
    ip: str
    user_agent: str
    details: dict[str, Any]

    @computed_field(  # type: ignore[prop-decorator]
        description=(
            "How many events this row stands for: refused token requests and failed "
            "sign-ins of one account, address and reason are counted per minute."
        )
    )
    @property
    def count(self) -> int:
        value = self.details.get("count", 1)
        return value if isinstance(value, int) and value > 0 else 1


class AuditEventList(BaseModel):
    data: list[AuditEventPublic]
    # Pass as ``cursor`` to read the next, older page; null on the last page.
    next_cursor: str | None
