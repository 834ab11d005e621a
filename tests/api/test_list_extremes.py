"""Every query parameter and cursor of every API list, over extreme values.

Whatever is sent, the answer is a page (200) or a 422 problem document: never a
5xx and never an unhandled exception (an out-of-range time, an integer past 64
bits, a cursor holding year 0 once converted to UTC).
"""

from __future__ import annotations

from collections import Counter

import httpx
import pytest
import pytest_asyncio
from hypothesis import strategies as st
from sqlalchemy.ext.asyncio import AsyncSession

from cloudcx.accounts.models import User
from cloudcx.oauth.models import OAuthClient
from cloudcx.oauth.scopes import SCOPES
from cloudcx.tenancy.service import TenantInfo
from tests import extremes
from tests.cxapi import Headers, assert_problem, headers_for, make_contact, make_ticket

TICKET_SORTS = ["created_at", "-created_at", "updated_at", "-updated_at"]


def paging(*sorts: str) -> dict[str, st.SearchStrategy[str]]:
    return {"limit": st.integers(1, 100).map(str), "cursor": extremes.keyset_cursors(list(sorts))}


LISTS: dict[str, dict[str, st.SearchStrategy[str]]] = {
    "/api/v1/tickets": {
        **paging(*TICKET_SORTS),
        "status": st.sampled_from(["new", "open", "closed"]),
        "priority": st.sampled_from(["low", "urgent"]),
        "assignee": st.uuids().map(str),
        "requester": st.uuids().map(str),
        "tag": extremes.any_text,
        "updated_since": extremes.times,
        "q": extremes.any_text,
        "sort": st.sampled_from(TICKET_SORTS),
    },
    "/api/v1/tickets/{ticket}/messages": paging("created_at"),
    "/api/v1/contacts": {
        **paging("-created_at"),
        "q": extremes.any_text,
        "email": extremes.any_text,
        "phone": extremes.any_text,
    },
    "/api/v1/contacts/{contact}/tickets": paging("-created_at"),
    "/api/v1/users": {
        **paging("created_at"),
        "role": st.sampled_from(["admin", "agent"]),
        "is_active": st.sampled_from(["true", "false"]),
    },
    "/api/v1/audit-events": {
        "limit": st.integers(1, 200).map(str),
        "cursor": extremes.positions(),
        "action": extremes.any_text,
        "actor": extremes.any_text,
        "since": extremes.times,
        "until": extremes.times,
    },
}
PARAMETERS = [(path, name) for path, names in LISTS.items() for name in names]
# The values that the probe found answered with a 500; a time UTC can hold is served.
SERVED = [
    ("/api/v1/audit-events", {"until": "9999-12-31"}),
    ("/api/v1/audit-events", {"since": "0001-01-01T00:00:00Z"}),
    ("/api/v1/tickets", {"updated_since": "9999-12-31T23:59:59+14:00"}),
]
REPORTED = [
    ("/api/v1/audit-events", {"since": "0001-01-01T00:00:00+14:00"}),
    ("/api/v1/audit-events", {"cursor": "999999999999999999_1"}),
    ("/api/v1/tickets", {"updated_since": "0001-01-01T00:00:00+14:00"}),
    ("/api/v1/tickets", {"updated_since": "9999-12-31T23:59:59-14:00"}),
    (
        "/api/v1/tickets",
        {
            "cursor": extremes.keyset_cursor(
                "-created_at", "0001-01-01T00:00:00+14:00", "00000000-0000-0000-0000-000000000001"
            )
        },
    ),
    (
        "/api/v1/contacts",
        {
            "cursor": extremes.keyset_cursor(
                "-created_at", "9999-12-31T23:59:59-14:00", "00000000-0000-0000-0000-000000000001"
            )
        },
    ),
]


@pytest_asyncio.fixture
async def admin_headers(http: httpx.AsyncClient, oauth_client: OAuthClient, admin: User) -> Headers:
    return await headers_for(http, oauth_client, admin.email, " ".join(SCOPES))


def check(response: httpx.Response) -> str:
    assert response.status_code in (200, 422), response.text
    if response.status_code == 422:
        assert_problem(response, 422)
    return str(response.status_code)


async def _urls(db: AsyncSession, tenant: TenantInfo) -> dict[str, str]:
    contact = await make_contact(db, tenant)
    ticket = await make_ticket(db, tenant, requester_id=contact.id)
    return {path: path.format(ticket=ticket.id, contact=contact.id) for path in LISTS}


@pytest.mark.parametrize(("path", "params"), REPORTED, ids=lambda v: str(v)[:40])
async def test_reported_values_get_422_not_500(
    http: httpx.AsyncClient,
    db: AsyncSession,
    tenant: TenantInfo,
    admin: User,
    admin_headers: Headers,
    path: str,
    params: dict[str, str],
) -> None:
    response = await http.get(path, params=params, headers=admin_headers)
    body = assert_problem(response, 422)
    assert body["errors"], body


@pytest.mark.parametrize(("path", "params"), SERVED, ids=lambda v: str(v)[:40])
async def test_times_at_the_edges_of_utc_are_served(
    http: httpx.AsyncClient, admin_headers: Headers, path: str, params: dict[str, str]
) -> None:
    response = await http.get(path, params=params, headers=admin_headers)
    assert response.status_code == 200, response.text


@pytest.mark.parametrize(("path", "name"), PARAMETERS, ids=[f"{p} {n}" for p, n in PARAMETERS])
async def test_list_parameters_never_give_5xx(
    http: httpx.AsyncClient,
    db: AsyncSession,
    tenant: TenantInfo,
    admin: User,
    admin_headers: Headers,
    path: str,
    name: str,
) -> None:
    """One parameter at a time, so that a refused one never hides another's failure."""
    url = (await _urls(db, tenant))[path]
    seen: Counter[str] = Counter()
    for value in extremes.examples(extremes.value_of(LISTS[path][name])):
        response = await http.get(url, params={name: value}, headers=admin_headers)
        try:
            seen[check(response)] += 1
        except AssertionError as exc:
            raise AssertionError(f"{name}={value!r} -> {response.status_code}") from exc
    assert sum(seen.values()) == extremes.EXAMPLES
