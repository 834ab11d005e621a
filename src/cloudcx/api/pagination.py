"""Cursor pagination: keyset on (sort column, id), stable under inserts.

Deep offsets get slower with every page and skip or repeat rows when others
insert meanwhile; a keyset cursor names the last row seen, so the next page
starts exactly after it whatever happened in between.
"""

from __future__ import annotations

import base64
import binascii
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any, Generic, TypeVar

import orjson
from fastapi import Depends, Query, Request
from pydantic import BaseModel, Field
from sqlalchemy import Select, and_, or_
from sqlalchemy.orm import InstrumentedAttribute

from cloudcx.api.problems import invalid

T = TypeVar("T")
M = TypeVar("M", bound=BaseModel)

DEFAULT_LIMIT = 25
MAX_LIMIT = 100


class PageLinks(BaseModel):
    next: str | None = Field(None, description="URL of the next page; null on the last page.")


class Page(BaseModel, Generic[T]):
    data: list[T]
    next_cursor: str | None = Field(
        None, description="Pass as `cursor` to get the next page; null on the last page."
    )
    links: PageLinks = Field(default_factory=PageLinks)


@dataclass(frozen=True, slots=True)
class PageParams:
    limit: int
    cursor: str | None
    request: Request


async def page_params(
    request: Request,
    limit: Annotated[
        int, Query(ge=1, le=MAX_LIMIT, description="Items per page, 1 to 100.")
    ] = DEFAULT_LIMIT,
    cursor: Annotated[
        str | None,
        Query(max_length=500, description="Opaque cursor from a previous page's `next_cursor`."),
    ] = None,
) -> PageParams:
    return PageParams(limit=limit, cursor=cursor, request=request)


PageDep = Annotated[PageParams, Depends(page_params)]


@dataclass(frozen=True, slots=True)
class Keyset:
    """Order of a listing: a datetime column and a direction, ties broken by id."""

    name: str
    column: InstrumentedAttribute[Any]
    id_column: InstrumentedAttribute[Any]
    descending: bool


def _encode(keyset: Keyset, value: datetime, id_: uuid.UUID) -> str:
    payload = orjson.dumps({"s": keyset.name, "v": value.isoformat(), "i": str(id_)})
    return base64.urlsafe_b64encode(payload).decode().rstrip("=")


def _decode(keyset: Keyset, cursor: str) -> tuple[Any, uuid.UUID]:
    try:
        data = orjson.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        if data["s"] != keyset.name:
            raise ValueError("cursor of another sort order")
        # Cursors are opaque but not secret: a hand-made one must give 422, not a 500.
        value = datetime.fromisoformat(data["v"])
        if value.tzinfo is None:
            raise ValueError("cursor time without offset")
        return value, uuid.UUID(data["i"])
    except (binascii.Error, ValueError, KeyError, TypeError, orjson.JSONDecodeError) as exc:
        raise invalid("cursor", "The cursor is not valid for this listing.") from exc


def apply(query: Select[Any], keyset: Keyset, params: PageParams) -> Select[Any]:
    """Order, start after the cursor, and fetch one row more to know if a next page exists."""
    col, id_col = keyset.column, keyset.id_column
    if params.cursor:
        value, last_id = _decode(keyset, params.cursor)
        if keyset.descending:
            query = query.where(or_(col < value, and_(col == value, id_col < last_id)))
        else:
            query = query.where(or_(col > value, and_(col == value, id_col > last_id)))
    order = (col.desc(), id_col.desc()) if keyset.descending else (col.asc(), id_col.asc())
    return query.order_by(*order).limit(params.limit + 1)


def page(rows: Sequence[Any], keyset: Keyset, params: PageParams, model: type[M]) -> Page[M]:
    """The page of ``rows`` as ``model`` items, with its cursor and link."""
    items = [model.model_validate(r) for r in rows[: params.limit]]
    if len(rows) <= params.limit:
        return Page[model](data=items)  # type: ignore[valid-type]
    last = rows[params.limit - 1]
    cursor = _encode(keyset, getattr(last, keyset.column.key), last.id)
    # The public origin (scheme and host as the client reached us, proxies included).
    here = params.request.url.include_query_params(cursor=cursor)
    url = f"{params.request.state.base_url}{here.path}?{here.query}"
    return Page[model](  # type: ignore[valid-type]
        data=items, next_cursor=cursor, links=PageLinks(next=url)
    )
