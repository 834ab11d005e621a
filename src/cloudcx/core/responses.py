"""JSON responses rendered by orjson (FastAPI's own OrjsonResponse is deprecated)."""

from __future__ import annotations

import uuid
from typing import Any

import orjson
from starlette.responses import JSONResponse


def json_default(value: object) -> str:
    """What orjson cannot write alone: asyncpg's own ``UUID`` class, a subclass of
    ``uuid.UUID`` that orjson does not take for one (ids read from PostgreSQL)."""
    if isinstance(value, uuid.UUID):
        return str(value)
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


class OrjsonResponse(JSONResponse):
    def render(self, content: Any) -> bytes:
        return orjson.dumps(content, default=json_default, option=orjson.OPT_NON_STR_KEYS)
