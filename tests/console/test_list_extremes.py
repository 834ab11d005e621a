"""Every query parameter of every Control Panel list, over extreme values.

A bad filter or cursor gives the page again, from the top and with a clear
word about the filter where one applies: never a server error.
"""

from __future__ import annotations

import httpx
import pytest
from hypothesis import strategies as st

from cloudcx.accounts.models import User
from tests import extremes
from tests.helpers import login

TICKET_SORTS = ["created_at", "-created_at", "updated_at", "-updated_at"]
PAGES: dict[str, dict[str, st.SearchStrategy[str]]] = {
    "/tickets": {
        "status": st.sampled_from(["new", "open", "closed"]),
        "priority": st.sampled_from(["low", "urgent"]),
        "assignee": st.one_of(st.just("me"), st.uuids().map(str)),
        "q": extremes.any_text,
        "cursor": extremes.keyset_cursors(TICKET_SORTS),
    },
    "/contacts": {"q": extremes.any_text, "cursor": extremes.keyset_cursors(["-created_at"])},
    "/settings/security/audit-log": {
        "action": extremes.any_text,
        "actor": extremes.any_text,
        "since": extremes.times,
        "until": extremes.times,
        "before": extremes.positions(),
    },
    "/users": {"notice": extremes.any_text},
}
PARAMETERS = [(path, name) for path, names in PAGES.items() for name in names]
REPORTED = [
    ("/settings/security/audit-log", {"until": "9999-12-31"}),
    ("/settings/security/audit-log", {"before": "9223372036854775808"}),
    ("/settings/security/audit-log", {"before": "999999999999999999_1"}),
    (
        "/tickets",
        {
            "cursor": extremes.keyset_cursor(
                "-created_at", "0001-01-01T00:00:00+14:00", "00000000-0000-0000-0000-000000000001"
            )
        },
    ),
    (
        "/contacts",
        {
            "cursor": extremes.keyset_cursor(
                "-created_at", "9999-12-31T23:59:59-14:00", "00000000-0000-0000-0000-000000000001"
            )
        },
    ),
]


@pytest.mark.parametrize(("path", "params"), REPORTED, ids=lambda v: str(v)[:40])
async def test_reported_values_show_the_page(
    http: httpx.AsyncClient, admin: User, path: str, params: dict[str, str]
) -> None:
    await login(http, admin.email)
    response = await http.get(path, params=params)
    assert response.status_code == 200, response.text
    assert "text/html" in response.headers["content-type"]


@pytest.mark.parametrize(("path", "name"), PARAMETERS, ids=[f"{p} {n}" for p, n in PARAMETERS])
async def test_list_parameters_never_give_5xx(
    http: httpx.AsyncClient, admin: User, path: str, name: str
) -> None:
    await login(http, admin.email)
    for value in extremes.examples(extremes.value_of(PAGES[path][name])):
        response = await http.get(path, params={name: value})
        assert response.status_code == 200, f"{name}={value!r} -> {response.status_code}"
        assert "text/html" in response.headers["content-type"]
