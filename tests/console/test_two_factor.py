"""Two-factor sign-in in the Control Panel: setting it up, the second step, recovery codes."""

from __future__ import annotations

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from cloudcx.accounts.models import User
from cloudcx.accounts.recovery_codes import RecoveryCode
from cloudcx.audit.models import AuditEvent
from cloudcx.console.two_factor import WRONG_CODE
from cloudcx.console.two_factor_pending import PENDING_COOKIE
from cloudcx.console.web import SESSION_COOKIE
from tests import helpers
from tests import two_factor as tf
from tests.html_forms import find_form


async def _stored(db: AsyncSession, user: User) -> User:
    found = await db.scalar(
        select(User).where(User.id == user.id).execution_options(populate_existing=True)
    )
    assert found is not None
    return found


async def test_enrol_shows_a_qr_code_and_stores_the_secret_encrypted(
    http: httpx.AsyncClient, db: AsyncSession, agent: User
) -> None:
    await helpers.login(http, agent.email)
    await helpers.form_post(http, "/account/two-factor", {}, "/account/two-factor/setup")
    page = await http.get("/account/two-factor/setup")
    assert 'src="data:image/svg+xml;base64,' in page.text
    secret = tf.secret_on(page.text)
    form = find_form(page.text, "Turn on two-factor", containing="Code from the app")
    assert form is not None
    pending = await _stored(db, agent)
    assert pending.totp_secret is None  # not active before a right code
    assert pending.totp_pending_secret and secret not in pending.totp_pending_secret
    wrong = await http.post(
        "/account/two-factor/confirm",
        data={"csrf_token": helpers.csrf_from(page.text), "code": "000000"},
    )
    assert wrong.status_code == 400 and WRONG_CODE in wrong.text
    assert (await _stored(db, agent)).totp_secret is None
    done = await http.post(
        "/account/two-factor/confirm",
        data={"csrf_token": helpers.csrf_from(page.text), "code": tf.code(secret)},
    )
    assert done.status_code == 200
    codes = tf.recovery_codes_on(done.text)
    assert len(codes) == 10 and len(set(codes)) == 10
    active = await _stored(db, agent)
    assert active.totp_secret and secret not in active.totp_secret
    digests = list(await db.scalars(select(RecoveryCode.digest)))
    assert len(digests) == 10 and not {c.replace("-", "") for c in codes} & set(digests)
    status = await http.get("/account/two-factor")
    assert "Two-factor sign-in is on" in status.text and "10 unused recovery codes" in status.text
    assert secret not in status.text


async def test_sign_in_asks_for_the_code_after_the_password(
    http: httpx.AsyncClient, db: AsyncSession, agent: User
) -> None:
    await helpers.login(http, agent.email)
    secret, _ = await tf.enrol(http)
    await tf.sign_out(http)
    first = await helpers.login(http, agent.email)
    assert first.headers["location"] == "/login/two-factor"
    assert SESSION_COOKIE not in http.cookies
    # Half signed in: nothing else is open.
    assert (await http.get("/")).status_code == 303
    assert (await http.get("/account/security")).status_code == 303
    wrong = await http.post(
        "/login/two-factor",
        data={"csrf_token": helpers.csrf_from((await http.get("/login")).text), "code": "123456"},
    )
    assert wrong.status_code == 400 and WRONG_CODE in wrong.text
    done = await tf.sign_in_with_code(http, agent.email, tf.code(secret, 1))
    assert done.status_code == 303 and done.headers["location"] == "/"
    assert PENDING_COOKIE not in http.cookies
    assert (await http.get("/")).status_code == 200


async def test_a_code_cannot_be_used_twice(http: httpx.AsyncClient, agent: User) -> None:
    await helpers.login(http, agent.email)
    secret, _ = await tf.enrol(http)
    await tf.sign_out(http)
    used = tf.code(secret, 1)
    assert (await tf.sign_in_with_code(http, agent.email, used)).status_code == 303
    await tf.sign_out(http)
    again = await tf.sign_in_with_code(http, agent.email, used)
    assert again.status_code == 400 and WRONG_CODE in again.text
    # The code of the enrolment itself was spent as well.
    assert (await tf.sign_in_with_code(http, agent.email, tf.code(secret))).status_code == 400


async def test_a_recovery_code_works_once(
    http: httpx.AsyncClient, db: AsyncSession, agent: User
) -> None:
    await helpers.login(http, agent.email)
    _, codes = await tf.enrol(http)
    await tf.sign_out(http)
    typed = codes[3].upper().replace("-", " ")  # as a person might type it
    assert (await tf.sign_in_with_code(http, agent.email, typed)).status_code == 303
    status = await http.get("/account/two-factor")
    assert "9 unused recovery codes" in status.text
    await tf.sign_out(http)
    assert (await tf.sign_in_with_code(http, agent.email, codes[3])).status_code == 400
    actions = list(await db.scalars(select(AuditEvent.action)))
    assert "two_factor.recovery_code_used" in actions


async def test_the_half_signed_in_state_is_bound_to_the_browser(
    app: FastAPI, http: httpx.AsyncClient, agent: User
) -> None:
    await helpers.login(http, agent.email)
    secret, _ = await tf.enrol(http)
    await tf.sign_out(http)
    await helpers.login(http, agent.email)
    stolen = http.cookies[PENDING_COOKIE]
    transport = httpx.ASGITransport(app=app, client=("198.51.100.20", 1))
    async with httpx.AsyncClient(transport=transport, base_url="http://localhost") as other:
        other.cookies.set(PENDING_COOKIE, stolen)
        page = await other.get("/login/two-factor")
        assert page.status_code == 303
        assert page.headers["location"] == "/login?notice=two_factor_expired"
        login = await other.get(page.headers["location"])
        assert "not finished in time" in login.text
        posted = await other.post(
            "/login/two-factor",
            data={"csrf_token": helpers.csrf_from(login.text), "code": tf.code(secret, 1)},
        )
        assert posted.status_code == 303 and SESSION_COOKIE not in other.cookies


async def test_the_half_signed_in_state_expires(
    http: httpx.AsyncClient, agent: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    await helpers.login(http, agent.email)
    await tf.enrol(http)
    await tf.sign_out(http)
    await helpers.login(http, agent.email)
    import time as real_time

    from cloudcx.console import two_factor_pending

    later = real_time.time() + two_factor_pending.PENDING_TTL + 1
    monkeypatch.setattr(two_factor_pending.time, "time", lambda: later)
    page = await http.get("/login/two-factor")
    assert page.headers["location"] == "/login?notice=two_factor_expired"


async def test_the_second_step_needs_csrf(http: httpx.AsyncClient, agent: User) -> None:
    await helpers.login(http, agent.email)
    secret, _ = await tf.enrol(http)
    await tf.sign_out(http)
    await helpers.login(http, agent.email)
    response = await http.post("/login/two-factor", data={"code": tf.code(secret, 1)})
    assert response.status_code == 403


async def test_guessing_codes_is_throttled_like_passwords(
    http: httpx.AsyncClient, agent: User
) -> None:
    await helpers.login(http, agent.email)
    await tf.enrol(http)
    await tf.sign_out(http)
    await helpers.login(http, agent.email)
    csrf = helpers.csrf_from((await http.get("/login/two-factor")).text)
    statuses = [
        (
            await http.post("/login/two-factor", data={"csrf_token": csrf, "code": f"{n:06d}"})
        ).status_code
        for n in range(8)
    ]
    assert statuses[:5] == [400] * 5
    assert 429 in statuses[5:]
