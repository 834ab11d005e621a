"""Conflict-safe edits: a stale save is refused with what changed and a form to re-apply it."""

from __future__ import annotations

import re

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from cloudcx.accounts.models import Role, User
from cloudcx.contacts.models import Contact
from cloudcx.oauth.models import OAuthClient
from cloudcx.tenancy.service import TenantInfo
from cloudcx.tickets.models import Message, Ticket, TicketPriority, TicketStatus
from tests.cxapi import make_contact, make_ticket
from tests.helpers import login
from tests.html_forms import Form, find_form

CLIENTS = "/settings/security/oauth-clients"


async def submit(http: httpx.AsyncClient, form: Form, button: str, page_url: str) -> httpx.Response:
    """What a browser sends for ``button`` of ``form``, as read from the page."""
    data: dict[str, list[str]] = {}
    for name, value in form.submission(button):
        data.setdefault(name, []).append(value)
    return await http.post(form.url(f"http://localhost{page_url}"), data=data)


async def form_on(
    http: httpx.AsyncClient, url: str, button: str, containing: str | None = None
) -> Form:
    page = await http.get(url)
    assert page.status_code == 200, page.text
    form = find_form(page.text, button=button, containing=containing)
    assert form is not None, f"no {button!r} form at {url}"
    return form


def choose(form: Form, label: str, value: str) -> None:
    """Choose the option whose value is ``value`` in the select labelled ``label``."""
    control = form._find(label, {"select"})
    assert value in [v for v, _ in control.options], (label, value)
    control.options = [(v, v == value) for v, _ in control.options]


def selected(form: Form, label: str) -> str:
    return next(v for v, on in form._find(label, {"select"}).options if on)


def conflict_rows(html: str) -> dict[str, tuple[str, str]]:
    """The conflict report: field → (their value, your value)."""
    section = html.split('id="conflict-title"', 1)[1].split("</section>", 1)[0]
    rows = re.findall(
        r'<tr><th scope="row">([^<]+)</th><td>(.*?)</td><td>(.*?)</td></tr>', section, re.S
    )
    return {label: (re.sub(r"<[^>]+>", "", theirs).strip(), yours) for label, theirs, yours in rows}


async def test_an_old_ticket_page_does_not_reopen_a_solved_ticket(
    http: httpx.AsyncClient, db: AsyncSession, tenant: TenantInfo, agent: User
) -> None:
    """The lost update: priority saved from a page opened before someone solved the ticket."""
    ticket = await make_ticket(db, tenant, subject="Printer on fire", status="open")
    await login(http, agent.email)
    url = f"/tickets/{ticket.id}"
    stale = await form_on(http, url, "Save")
    # Someone else solves the ticket meanwhile, from their own page.
    theirs = await form_on(http, url, "Save")
    choose(theirs, "Status", "solved")
    assert (await submit(http, theirs, "Save", url)).status_code == 303

    choose(stale, "Priority", "high")
    refused = await submit(http, stale, "Save", url)
    assert refused.status_code == 409
    assert "Not saved: someone else changed this meanwhile" in refused.text
    assert conflict_rows(refused.text) == {
        "Status": ("Solved (changed by them)", "Open"),
        "Priority": ("Normal", "High"),
    }
    await db.refresh(ticket)
    assert (ticket.status, ticket.priority) == (TicketStatus.SOLVED, TicketPriority.NORMAL)

    # The form offered keeps their status and my priority, with the new version.
    offered = find_form(refused.text, button="Save")
    assert offered is not None
    assert (selected(offered, "Status"), selected(offered, "Priority")) == ("solved", "high")
    assert (await submit(http, offered, "Save", url)).status_code == 303
    await db.refresh(ticket)
    assert (ticket.status, ticket.priority) == (TicketStatus.SOLVED, TicketPriority.HIGH)


async def test_a_change_made_elsewhere_makes_the_page_stale(
    http: httpx.AsyncClient, db: AsyncSession, tenant: TenantInfo, agent: User
) -> None:
    """The version is the API's ETag: any change to the record, by any means, counts."""
    ticket = await make_ticket(db, tenant)
    await login(http, agent.email)
    url = f"/tickets/{ticket.id}"
    stale = await form_on(http, url, "Save")
    ticket.description = "Described again through the API"  # not a field of the page's form
    await db.commit()
    choose(stale, "Priority", "low")
    refused = await submit(http, stale, "Save", url)
    assert refused.status_code == 409
    # No field of this form differs: the page says so rather than showing an empty table.
    assert conflict_rows(refused.text) == {"Priority": ("Normal", "Low")}


async def test_send_and_set_solved_in_one_submit(
    http: httpx.AsyncClient, db: AsyncSession, tenant: TenantInfo, agent: User
) -> None:
    ticket = await make_ticket(db, tenant)
    await login(http, agent.email)
    url = f"/tickets/{ticket.id}"
    form = await form_on(http, url, "Send and set Solved")
    form.fill("Message", "Replaced the toner; closing.")
    choose(form, "Assignee", str(agent.id))
    response = await submit(http, form, "Send and set Solved", url)
    assert response.status_code == 303
    assert response.headers["location"] == f"{url}?notice=replied"
    await db.refresh(ticket)
    assert (ticket.status, ticket.assignee_id) == (TicketStatus.SOLVED, agent.id)
    assert ticket.solved_at is not None
    bodies = (await db.scalars(select(Message.body).where(Message.ticket_id == ticket.id))).all()
    assert bodies == ["Replaced the toner; closing."]


async def test_send_keeps_the_chosen_status_and_an_empty_send_is_refused(
    http: httpx.AsyncClient, db: AsyncSession, tenant: TenantInfo, agent: User
) -> None:
    ticket = await make_ticket(db, tenant)
    await login(http, agent.email)
    url = f"/tickets/{ticket.id}"
    empty = await form_on(http, url, "Send")
    refused = await submit(http, empty, "Send", url)
    assert refused.status_code == 422
    assert "Message is required." in refused.text
    form = await form_on(http, url, "Send")
    form.fill("Message", "Waiting for your answer.")
    choose(form, "Status", "pending")
    assert (await submit(http, form, "Send", url)).status_code == 303
    await db.refresh(ticket)
    assert ticket.status is TicketStatus.PENDING


async def test_save_with_a_written_message_keeps_it_and_sends_nothing(
    http: httpx.AsyncClient, db: AsyncSession, tenant: TenantInfo, agent: User
) -> None:
    ticket = await make_ticket(db, tenant)
    await login(http, agent.email)
    url = f"/tickets/{ticket.id}"
    form = await form_on(http, url, "Save")
    form.fill("Message", "Draft I have not sent")
    choose(form, "Priority", "urgent")
    response = await submit(http, form, "Save", url)
    assert response.status_code == 422
    assert "Click Send to send this message" in response.text
    assert "Draft I have not sent" in response.text
    await db.refresh(ticket)
    assert ticket.priority is TicketPriority.NORMAL
    assert await db.scalar(select(Message)) is None


async def test_a_request_without_a_version_is_unconditional(
    http: httpx.AsyncClient, db: AsyncSession, tenant: TenantInfo, agent: User
) -> None:
    """Like a PATCH without If-Match: only the page sends a version, and it always does."""
    ticket = await make_ticket(db, tenant)
    await login(http, agent.email)
    url = f"/tickets/{ticket.id}"
    form = await form_on(http, url, "Save")
    assert dict(form.submission("Save"))["version"]
    data = {k: v for k, v in form.submission("Save") if k not in {"version", "original"}}
    ticket.subject = "Changed meanwhile"
    await db.commit()
    response = await http.post(url, data={**data, "priority": "low"})
    assert response.status_code == 303
    await db.refresh(ticket)
    assert ticket.priority is TicketPriority.LOW


@pytest.mark.parametrize(
    ("original", "status"),
    [
        pytest.param("%%%", 409, id="not-base64"),
        pytest.param("eyJub3QiOiBhIGxpc3R9", 409, id="not-json"),
        pytest.param("W10=", 409, id="not-an-object"),
        pytest.param("x" * 3000, 400, id="too-long"),
    ],
)
async def test_a_damaged_original_is_refused_without_harm(
    http: httpx.AsyncClient,
    db: AsyncSession,
    tenant: TenantInfo,
    agent: User,
    original: str,
    status: int,
) -> None:
    ticket = await make_ticket(db, tenant)
    await login(http, agent.email)
    url = f"/tickets/{ticket.id}"
    form = await form_on(http, url, "Save")
    data = {**dict(form.submission("Save")), "original": original, "priority": "high"}
    ticket.status = TicketStatus.PENDING
    await db.commit()
    response = await http.post(url, data=data)
    assert response.status_code == status
    await db.refresh(ticket)
    assert ticket.priority is TicketPriority.NORMAL


async def test_contact_edit_conflict_keeps_both_changes_on_reapply(
    http: httpx.AsyncClient, db: AsyncSession, tenant: TenantInfo, agent: User
) -> None:
    contact = await make_contact(db, tenant, email="ada@example.com")
    await login(http, agent.email)
    url = f"/contacts/{contact.id}/edit"
    stale = await form_on(http, url, "Save")
    theirs = await form_on(http, url, "Save")
    theirs.fill("Job title", "Countess")
    assert (await submit(http, theirs, "Save", url)).status_code == 303

    stale.fill("Phone", "+44 20 7946 0000")
    refused = await submit(http, stale, "Save", url)
    assert refused.status_code == 409
    assert conflict_rows(refused.text) == {
        "Phone": ("—", "+44 20 7946 0000"),
        "Job title": ("Countess (changed by them)", "—"),
    }
    offered = find_form(refused.text, button="Save")
    assert offered is not None
    assert (offered.value_of("Phone"), offered.value_of("Job title")) == (
        "+44 20 7946 0000",
        "Countess",
    )
    assert (await submit(http, offered, "Save", url)).status_code == 303
    saved = await db.scalar(
        select(Contact).where(Contact.id == contact.id).execution_options(populate_existing=True)
    )
    assert saved is not None
    assert (saved.phone, saved.job_title) == ("+44 20 7946 0000", "Countess")


async def test_role_change_from_an_old_list_is_refused(
    http: httpx.AsyncClient, db: AsyncSession, admin: User, agent: User
) -> None:
    await login(http, admin.email)
    listing = await http.get("/users")
    stale = find_form(listing.text, button="Change role", containing=f"Role of {agent.name}")
    assert stale is not None
    agent.name = "Renamed meanwhile"
    await db.commit()
    choose(stale, "Role of Agent", "admin")
    refused = await submit(http, stale, "Change role", "/users")
    assert refused.status_code == 409
    assert conflict_rows(refused.text) == {"Role": ("Agent", "Admin")}
    await db.refresh(agent)
    assert agent.role is Role.AGENT
    # The row's form now holds my choice and the new version: it goes on to the question.
    offered = find_form(refused.text, button="Change role", containing="Role of Renamed")
    assert offered is not None and selected(offered, "Role of Renamed") == "admin"
    asked = await submit(http, offered, "Change role", "/users")
    assert asked.status_code == 200 and "an administrator?" in asked.text


async def test_client_edit_conflict(
    http: httpx.AsyncClient, db: AsyncSession, admin: User, oauth_client: OAuthClient
) -> None:
    await login(http, admin.email)
    url = f"{CLIENTS}/{oauth_client.id}/edit"
    stale = await form_on(http, url, "Save", containing="Redirect URIs")
    theirs = await form_on(http, url, "Save", containing="Redirect URIs")
    theirs.fill("Client name", "Helpdesk Sync v2")
    assert (await submit(http, theirs, "Save", url)).status_code == 303

    stale.fill("Redirect URIs", "https://app.example/cb")
    refused = await submit(http, stale, "Save", url)
    assert refused.status_code == 409
    rows = conflict_rows(refused.text)
    assert rows["Client name"] == ("Helpdesk Sync v2 (changed by them)", "Helpdesk Sync")
    assert rows["Redirect URIs"] == ("—", "https://app.example/cb")
    await db.refresh(oauth_client)
    assert oauth_client.redirect_uris == []
    offered = find_form(refused.text, button="Save", containing="Redirect URIs")
    assert offered is not None
    assert offered.value_of("Client name") == "Helpdesk Sync v2"
    assert (await submit(http, offered, "Save", url)).status_code == 303
    await db.refresh(oauth_client)
    assert oauth_client.client_name == "Helpdesk Sync v2"
    assert oauth_client.redirect_uris == ["https://app.example/cb"]


async def test_stale_forms_of_another_tenant_stay_not_found(
    http: httpx.AsyncClient, db: AsyncSession, other_tenant: TenantInfo, agent: User
) -> None:
    foreign = await make_ticket(db, other_tenant)
    await login(http, agent.email)
    page = await http.get("/tickets")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert token
    response = await http.post(
        f"/tickets/{foreign.id}",
        data={"csrf_token": token.group(1), "version": "x", "status": "open", "priority": "low"},
    )
    assert response.status_code == 404
    kept = await db.scalar(select(Ticket.priority).where(Ticket.id == foreign.id))
    assert kept is TicketPriority.NORMAL


async def test_rename_from_an_old_page_is_refused_and_offered_again(
    http: httpx.AsyncClient, db: AsyncSession, admin: User, agent: User
) -> None:
    await login(http, admin.email)
    url = f"/users/{agent.id}/edit"
    stale = await form_on(http, url, "Save")
    # Someone else renames them meanwhile, from their own page.
    theirs = await form_on(http, url, "Save")
    theirs.fill("Name", "Grace Hopper")
    assert (await submit(http, theirs, "Save", url)).status_code == 303

    stale.fill("Name", "Ada Lovelace")
    refused = await submit(http, stale, "Save", url)
    assert refused.status_code == 409
    assert conflict_rows(refused.text) == {
        "Name": ("Grace Hopper (changed by them)", "Ada Lovelace")
    }
    await db.refresh(agent)
    assert agent.name == "Grace Hopper"
    # Offered again with my name and the new version: saving it now wins.
    offered = find_form(refused.text, button="Save")
    assert offered is not None and offered.value_of("Name") == "Ada Lovelace"
    assert (await submit(http, offered, "Save", url)).status_code == 303
    await db.refresh(agent)
    assert agent.name == "Ada Lovelace"
