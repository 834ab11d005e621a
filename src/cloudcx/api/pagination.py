"""Cursor pagination: keyset on (sort column, id), stable under inserts.

Deep offsets get slower with every page and skip or repeat rows when others
insert meanwhile; a keyset cursor names the last row seen, so the next page
starts exactly after it whatever happened in between.
"""

from __future__ import annotations

import base64
import binascii
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any, Generic, TypeVar
from urllib.parse import urlencode

import orjson
from fastapi import Depends, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field
from sqlalchemy import ColumnElement, Integer, Select, and_, bindparam, or_
from sqlalchemy.orm import InstrumentedAttribute

from cloudcx.api.inputs import in_utc
from cloudcx.api.problems import invalid
from cloudcx.core.responses import json_default

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
class Rank:
    """A sort key before the time: an SQL expression of small integers, and how to
    get its value from a listed row or item (from the field it ranks)."""

    expression: ColumnElement[int]
    field: str
    ranks: Mapping[str, int]

    def of(self, row: Any) -> int:
        value = row[self.field] if isinstance(row, dict) else getattr(row, self.field)
        return self.ranks[str(value)]


@dataclass(frozen=True, slots=True)
class Keyset:
    """Order of a listing: a datetime column and a direction, ties broken by id;
    with ``rank``, that rank first (``sort=priority``), all in the one direction."""

    name: str
    column: InstrumentedAttribute[Any]
    id_column: InstrumentedAttribute[Any]
    descending: bool
    rank: Rank | None = None


def _encode(keyset: Keyset, value: datetime, id_: uuid.UUID, rank: int | None = None) -> str:
    data: dict[str, Any] = {"s": keyset.name, "v": value.isoformat(), "i": str(id_)}
    if rank is not None:
        data["r"] = rank
    return base64.urlsafe_b64encode(orjson.dumps(data)).decode().rstrip("=")


def _decode(keyset: Keyset, cursor: str) -> tuple[int | None, Any, uuid.UUID]:
    try:
        data = orjson.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        if data["s"] != keyset.name:
            raise ValueError("cursor of another sort order")
        # Cursors are opaque but not secret: a hand-made one must give 422, not a 500.
        value, id_ = data["v"], data["i"]
        if not isinstance(value, str) or not isinstance(id_, str):
            raise ValueError("cursor of another format")
        rank = data["r"] if keyset.rank is not None else None
        if keyset.rank is not None and (type(rank) is not int or abs(rank) > 1000):
            raise ValueError("cursor rank of another format")
        when = datetime.fromisoformat(value)
        if when.tzinfo is None:
            raise ValueError("cursor time without offset")
        return rank, in_utc(when), uuid.UUID(id_)
    except (binascii.Error, ValueError, KeyError, TypeError, orjson.JSONDecodeError) as exc:
        raise invalid("cursor", "The cursor is not valid for this listing.") from exc


def apply(query: Select[Any], keyset: Keyset, params: PageParams) -> Select[Any]:
    """Order, start after the cursor, and fetch one row more to know if a next page exists."""
    col, id_col = keyset.column, keyset.id_column
    rank = keyset.rank.expression if keyset.rank else None
    if params.cursor:
        rank_value, value, last_id = _decode(keyset, params.cursor)
        after = _after(col, id_col, value, last_id, keyset.descending)
        if rank is not None:
            after = _ranked_after(rank, rank_value, after, keyset.descending)
        query = query.where(after)
    return query.order_by(*_order(keyset, col, id_col)).limit(params.limit + 1)


def _order(keyset: Keyset, col: Any, id_col: Any) -> list[Any]:
    keys = [keyset.rank.expression, col, id_col] if keyset.rank else [col, id_col]
    return [k.desc() if keyset.descending else k.asc() for k in keys]


def _after(col: Any, id_col: Any, value: Any, last_id: Any, descending: bool) -> Any:
    """Rows after (``value``, ``last_id``) in the order.

    The bound on ``col`` alone comes first so that an index on (..., col, id)
    seeks to the cursor; the rest only settles ties at ``value``.
    """
    if descending:
        return and_(col <= value, or_(col < value, id_col < last_id))
    return and_(col >= value, or_(col > value, id_col > last_id))


def _ranked_after(rank: Any, rank_value: Any, after: Any, descending: bool) -> Any:
    """Rows after the cursor when a rank comes first: a later rank, or the same rank
    and after (time, id); the bound on the rank alone first, for the index."""
    if descending:
        return and_(rank <= rank_value, or_(rank < rank_value, after))
    return and_(rank >= rank_value, or_(rank > rank_value, after))


def ordered(
    query: Select[Any], keyset: Keyset, *, after_cursor: bool, one_plan: bool = False
) -> Select[Any]:
    """``apply`` with the cursor's values and the limit left as bound parameters.

    For a statement built once and run many times with ``bound(keyset, params)``.
    The sort columns are the query's own selected columns of the keyset's names,
    so this works on a Core select of table columns as well.

    ``one_plan``: the same plan suits every value of the query's parameters, so
    the limit is written into the SQL. PostgreSQL plans a prepared statement
    anew on every run while a plan made without the values could be worse than
    one made with them, and it cannot tell without the limit; given it, it
    keeps one plan and skips the planning, a sixth of a page's round trip.
    """
    col = query.selected_columns[keyset.column.key]
    id_col = query.selected_columns[keyset.id_column.key]
    if after_cursor:
        value = bindparam("cursor_value", type_=col.type)
        last_id = bindparam("cursor_id", type_=id_col.type)
        after = _after(col, id_col, value, last_id, keyset.descending)
        if keyset.rank is not None:
            rank_value = bindparam("cursor_rank", type_=Integer)
            after = _ranked_after(keyset.rank.expression, rank_value, after, keyset.descending)
        query = query.where(after)
    limit = bindparam("page_limit", type_=Integer, literal_execute=one_plan)
    return query.order_by(*_order(keyset, col, id_col)).limit(limit)


def bound(keyset: Keyset, params: PageParams) -> dict[str, Any]:
    """The values of an ``ordered`` statement's parameters; 422 for a bad cursor."""
    values: dict[str, Any] = {"page_limit": params.limit + 1}
    if params.cursor:
        rank, values["cursor_value"], values["cursor_id"] = _decode(keyset, params.cursor)
        if keyset.rank is not None:
            values["cursor_rank"] = rank
    return values


def page(rows: Sequence[Any], keyset: Keyset, params: PageParams, model: type[M]) -> Page[M]:
    """The page of ``rows`` as ``model`` items, with its cursor and link."""
    items = [model.model_validate(r) for r in rows[: params.limit]]
    if len(rows) <= params.limit:
        return Page[model](data=items)  # type: ignore[valid-type]
    last = rows[params.limit - 1]
    rank = keyset.rank.of(last) if keyset.rank else None
    cursor = _encode(keyset, getattr(last, keyset.column.key), last.id, rank)
    return Page[model](  # type: ignore[valid-type]
        data=items, next_cursor=cursor, links=PageLinks(next=_next_url(params, cursor))
    )


def json_page(items: Sequence[dict[str, Any]], keyset: Keyset, params: PageParams) -> Response:
    """``page`` for items that already are the item schema's JSON: no model in between.

    ``Z`` for UTC times, as pydantic writes them, so both give the same bytes.
    """
    data = items[: params.limit]
    cursor = url = None
    if len(items) > params.limit:
        last = data[-1]
        value = last[keyset.column.key]
        if isinstance(value, str):  # a listing's time written as JSON text already
            value = datetime.fromisoformat(value)
        rank = keyset.rank.of(last) if keyset.rank else None
        cursor = _encode(keyset, value, last[keyset.id_column.key], rank)
        url = _next_url(params, cursor)
    body = {"data": data, "next_cursor": cursor, "links": {"next": url}}
    content = orjson.dumps(body, default=json_default, option=orjson.OPT_UTC_Z)
    return Response(content, media_type="application/json")


def _next_url(params: PageParams, cursor: str) -> str:
    """This request's URL with the next ``cursor`` last, as Starlette's
    ``include_query_params`` gives it, without building and parsing URL objects.
    The origin is the public one (scheme and host as the client reached us)."""
    request = params.request
    query = [(k, v) for k, v in request.query_params.multi_items() if k != "cursor"]
    query.append(("cursor", cursor))
    return f"{request.state.base_url}{request.scope['path']}?{urlencode(query)}"
