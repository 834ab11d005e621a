"""After an administrator's reset: the one-time password signs in to one page only,
where the user chooses their own; the password grant waits for it too."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from cloudcx.accounts.models import User
from cloudcx.audit.models import AuditEvent
from cloudcx.console.new_password import DIFFERENT, SAME_AS_BEFORE
from cloudcx.oauth.grants.password import BAD_CREDENTIALS, CHANGE_PASSWORD_FIRST
from cloudcx.oauth.models import OAuthClient
from tests import helpers
from tests import two_factor as tf
from tests.console.test_user_edit import ONE_TIME, reset
from tests.oauth.flows import authorize_params, configure

PAGE = "/login/new-password"
CHOSEN = "My-own-chosen-passphrase-31"


async def reset_by_admin(http: httpx.AsyncClient, admin: User, user: User) -> None:
    await helpers.login(http, admin.email)
    assert (await reset(http, user)).status_code == 303
    http.cookies.clear()


async def choose(
    http: httpx.AsyncClient, new: str, confirm: str | None = None, next_url: str = ""
) -> httpx.Response:
    page = await http.get(PAGE)
    assert page.status_code == 200, page.text
    return await http.post(
        PAGE,
        data={
            "csrf_token": helpers.csrf_from(page.text),
            "new_password": new,
            "confirm_password": new if confirm is None else confirm,
            "next": next_url,
        },
    )


def grant(client: OAuthClient, email: str, password: str) -> dict[str, str]:
    return {
        "grant_type": "password",
        "username": email,
        "password": password,
        "client_id": client.client_id,
    }


async def test_every_page_leads_to_the_new_password_first(
    http: httpx.AsyncClient, db: AsyncSession, admin: User, agent: User, oauth_client: OAuthClient
) -> None:
    await reset_by_admin(http, admin, agent)
    signed_in = await helpers.login(http, agent.email, ONE_TIME)
    assert signed_in.status_code == 303
    for path, location in [
        ("/", f"{PAGE}?next=%2F"),
        ("/tickets?status=open", f"{PAGE}?next=%2Ftickets%3Fstatus%3Dopen"),
        ("/account/security", f"{PAGE}?next=%2Faccount%2Fsecurity"),
        ("/account/connected-apps", f"{PAGE}?next=%2Faccount%2Fconnected-apps"),
    ]:
        response = await http.get(path)
        assert (response.status_code, response.headers["location"]) == (303, location)
    # The consent page too: a one-time password grants no app anything.
    client = await configure(db, oauth_client)
    consent = await http.get("/oauth/authorize", params=authorize_params(client))
    assert consent.status_code == 303
    assert consent.headers["location"].startswith(f"{PAGE}?next=%2Foauth%2Fauthorize%3F")
    page = await http.get(PAGE)
    assert page.status_code == 200 and "Choose a new password" in page.text
    assert 'href="/tickets"' not in page.text  # no navigation that would lead back here
    # A form posted meanwhile is not carried out, and returns home afterwards.
    posted = await http.post(
        "/account/sign-out-everywhere", data={"csrf_token": helpers.csrf_from(page.text)}
    )
    assert (posted.status_code, posted.headers["location"]) == (303, PAGE)
    assert (await http.get(PAGE)).status_code == 200  # still signed in


async def test_choosing_the_password_spends_the_one_time_one(
    http: httpx.AsyncClient, db: AsyncSession, admin: User, agent: User, oauth_client: OAuthClient
) -> None:
    await reset_by_admin(http, admin, agent)
    await helpers.login(http, agent.email, ONE_TIME)
    done = await choose(http, CHOSEN, next_url="/tickets")
    assert (done.status_code, done.headers["location"]) == (303, "/tickets")
    assert (await http.get("/tickets")).status_code == 200  # this session stays
    await db.refresh(agent)
    assert agent.must_change_password is False
    assert (await http.get(PAGE)).headers["location"] == "/"  # nothing left to do
    event = await db.scalar(
        select(AuditEvent).where(
            AuditEvent.action == "password.changed", AuditEvent.target_id == str(agent.id)
        )
    )
    assert event is not None and event.details == {"reason": "reset"}
    assert CHOSEN not in str(event.details)
    http.cookies.clear()
    old = await helpers.login(http, agent.email, ONE_TIME)
    assert old.status_code == 400 and "The email or password is incorrect." in old.text
    assert (await helpers.login(http, agent.email, CHOSEN)).headers["location"] == "/"
    assert (await http.get("/")).status_code == 200
    refused = await http.post("/oauth/token", data=grant(oauth_client, agent.email, ONE_TIME))
    assert refused.status_code == 400
    assert refused.json() == {"error": "invalid_grant", "error_description": BAD_CREDENTIALS}
    token = await http.post("/oauth/token", data=grant(oauth_client, agent.email, CHOSEN))
    assert token.status_code == 200, token.text
    bearer = helpers.bearer(token.json()["access_token"])
    assert (await http.get("/api/v1/me", headers=bearer)).status_code == 200


@pytest.mark.parametrize(
    ("new", "confirm", "message"),
    [
        ("short", None, "at least 12 characters"),
        ("qwertyuiop123", None, "too common"),
        (CHOSEN, CHOSEN + "!", DIFFERENT),
        (ONE_TIME, None, SAME_AS_BEFORE),
    ],
    ids=["too-short", "common", "mismatched-confirmation", "the-one-time-password"],
)
async def test_new_password_refusals(
    http: httpx.AsyncClient,
    db: AsyncSession,
    admin: User,
    agent: User,
    new: str,
    confirm: str | None,
    message: str,
) -> None:
    await reset_by_admin(http, admin, agent)
    await helpers.login(http, agent.email, ONE_TIME)
    response = await choose(http, new, confirm)
    assert response.status_code == 422 and message in response.text
    await db.refresh(agent)
    assert agent.must_change_password is True
    assert (await http.get("/")).headers["location"] == f"{PAGE}?next=%2F"


async def test_the_form_needs_its_csrf_token_and_a_session(
    http: httpx.AsyncClient, db: AsyncSession, admin: User, agent: User
) -> None:
    anonymous = await http.get(PAGE)
    assert anonymous.status_code == 303
    assert anonymous.headers["location"] == "/login?next=%2Flogin%2Fnew-password"
    posted = await http.post(PAGE, data={"new_password": CHOSEN, "confirm_password": CHOSEN})
    assert (posted.status_code, posted.headers["location"]) == (303, "/login")
    await reset_by_admin(http, admin, agent)
    await helpers.login(http, agent.email, ONE_TIME)
    forged = await http.post(
        PAGE, data={"csrf_token": "forged", "new_password": CHOSEN, "confirm_password": CHOSEN}
    )
    assert forged.status_code == 403
    await db.refresh(agent)
    assert agent.must_change_password is True


async def test_a_user_with_nothing_to_change_is_sent_on(
    http: httpx.AsyncClient, agent: User
) -> None:
    await helpers.login(http, agent.email)
    page = await http.get(PAGE, params={"next": "/contacts"})
    assert (page.status_code, page.headers["location"]) == (303, "/contacts")
    home = await http.get("/")
    posted = await http.post(
        PAGE,
        data={
            "csrf_token": helpers.csrf_from(home.text),
            "new_password": CHOSEN,
            "confirm_password": CHOSEN,
        },
    )
    assert (posted.status_code, posted.headers["location"]) == (303, "/")
    http.cookies.clear()
    assert (await helpers.login(http, agent.email)).status_code == 303  # password unchanged


async def test_the_password_grant_waits_for_the_change(
    http: httpx.AsyncClient, admin: User, agent: User, oauth_client: OAuthClient
) -> None:
    await reset_by_admin(http, admin, agent)
    refused = await http.post("/oauth/token", data=grant(oauth_client, agent.email, ONE_TIME))
    assert refused.status_code == 400
    assert refused.headers["cache-control"] == "no-store"
    assert refused.json() == {"error": "invalid_grant", "error_description": CHANGE_PASSWORD_FIRST}
    # A wrong password learns nothing about the reset.
    wrong = await http.post(
        "/oauth/token", data=grant(oauth_client, agent.email, "Wrong-passw0rd!!")
    )
    assert wrong.json() == {"error": "invalid_grant", "error_description": BAD_CREDENTIALS}


async def test_two_factor_comes_before_the_new_password(
    http: httpx.AsyncClient, db: AsyncSession, admin: User, agent: User
) -> None:
    await helpers.login(http, agent.email)
    secret, _ = await tf.enrol(http)
    http.cookies.clear()
    await reset_by_admin(http, admin, agent)
    first = await helpers.login(http, agent.email, ONE_TIME)
    assert first.headers["location"].startswith("/login/two-factor")
    assert (await http.get(PAGE)).headers["location"].startswith("/login?next=")  # not yet
    page = await http.get(first.headers["location"])
    coded = await http.post(
        "/login/two-factor",
        data={"csrf_token": helpers.csrf_from(page.text), "code": tf.code(secret, steps_ahead=1)},
    )
    assert coded.status_code == 303
    assert (await http.get("/")).headers["location"] == f"{PAGE}?next=%2F"
    assert (await choose(http, CHOSEN)).status_code == 303
    await db.refresh(agent)
    assert agent.must_change_password is False and agent.has_two_factor
