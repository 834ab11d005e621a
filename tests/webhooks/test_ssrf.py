"""SSRF defence: only public addresses, checked on the address actually connected to."""

from __future__ import annotations

import ipaddress

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from tests.webhooks.conftest import Receiver, loopback_settings

from cloudcx.config import Settings
from cloudcx.contacts import service as contacts
from cloudcx.contacts.schemas import ContactCreate
from cloudcx.platform import Platform
from cloudcx.tenancy.service import TenantInfo
from cloudcx.webhooks import service
from cloudcx.webhooks.models import WebhookAttempt, WebhookEndpoint
from cloudcx.webhooks.transport import AddressPolicy
from cloudcx.webhooks.worker import Worker


@pytest.mark.parametrize(
    "address",
    [
        "10.1.2.3",
        "172.16.0.1",
        "192.168.1.1",
        "127.0.0.1",
        "0.0.0.0",  # noqa: S104 (an address refused, not bound)
        "169.254.169.254",  # the clouds' metadata service
        "100.64.0.1",  # carrier-grade NAT
        "::1",
        "fe80::1",
        "fd00:ec2::254",  # AWS metadata over IPv6
        "::ffff:127.0.0.1",  # loopback spelt as IPv6
        "224.0.0.1",
    ],
    ids=lambda a: a,
)
def test_non_public_addresses_are_refused(address: str) -> None:
    assert not AddressPolicy().allows(ipaddress.ip_address(address))


def test_public_and_explicitly_allowed_addresses_pass() -> None:
    assert AddressPolicy().allows(ipaddress.ip_address("93.184.215.14"))
    assert AddressPolicy().allows(ipaddress.ip_address("2606:4700::1111"))
    allowed = AddressPolicy((ipaddress.ip_network("10.1.0.0/16"),))
    assert allowed.allows(ipaddress.ip_address("10.1.2.3"))
    assert not allowed.allows(ipaddress.ip_address("10.2.0.1"))
    loopback = AddressPolicy(loopback_only=True)
    assert loopback.allows(ipaddress.ip_address("127.0.0.1"))
    assert not loopback.allows(ipaddress.ip_address("93.184.215.14"))


@pytest.mark.parametrize(
    ("url", "allow_http", "problem"),
    [
        ("http://hooks.example.com/x", True, "Enter an https:// URL."),
        ("http://127.0.0.1:9/x", False, "Enter an https:// URL."),
        ("ftp://hooks.example.com/x", True, "Enter an https:// URL."),
        ("https://10.0.0.7/x", False, "private"),
        ("https://[::1]/x", False, "private"),
        ("https://169.254.169.254/latest", False, "private"),
        ("https://user:pw@hooks.example.com/", False, "user name or password"),
        ("https://hooks.example.com:99999/", False, "valid URL"),
        ("https:///nohost", False, "https://"),
        ("https://hooks.example.com/a b", False, "at most"),
        ("", False, "at most"),
    ],
    ids=[
        "http-elsewhere",
        "http-loopback-not-allowed",
        "ftp",
        "private-literal",
        "loopback-v6-literal",
        "metadata-literal",
        "userinfo",
        "bad-port",
        "no-host",
        "space",
        "empty",
    ],
)
def test_urls_refused_when_saved(
    settings: Settings, url: str, allow_http: bool, problem: str
) -> None:
    chosen = loopback_settings(settings, webhook_allow_http_loopback=allow_http)
    found = service.check_url(chosen, url)
    assert found is not None and problem in found


def test_urls_accepted_when_saved(settings: Settings) -> None:
    assert service.check_url(settings, "https://hooks.example.com/cx") is None
    dev = loopback_settings(settings)
    assert service.check_url(dev, "http://127.0.0.1:8080/cx") is None
    assert service.check_url(dev, "http://localhost:8080/cx") is None


async def _attempt_to(
    db: AsyncSession,
    platform: Platform,
    tenant: TenantInfo,
    url: str,
    worker: Worker,
) -> WebhookAttempt:
    endpoint = WebhookEndpoint(
        tenant_id=tenant.id,
        name="Probe",
        url=url,
        events=["contact.created"],
        secret_encrypted=service.encrypt(platform.settings, "whsec_" + "A" * 44),
    )
    db.add(endpoint)
    await db.commit()
    await contacts.create_contact(db, tenant.id, ContactCreate(email="a@example.com"))
    await db.commit()
    assert await worker.run_once() == 1
    attempt = (await db.scalars(select(WebhookAttempt))).one()
    assert not attempt.success
    return attempt


def _worker(platform: Platform, names: dict[str, list[str]]) -> Worker:
    async def resolver(host: str, port: int) -> list[str]:
        return names[host]

    return Worker(platform.settings, platform.sessionmaker, platform.writes, resolver=resolver)


@pytest.mark.parametrize(
    ("addresses", "refused"),
    [
        (["10.1.2.3"], "10.1.2.3"),
        (["169.254.169.254"], "169.254.169.254"),
        (["127.0.0.1"], "127.0.0.1"),
        (["::ffff:192.168.0.1"], "::ffff:c0a8:1"),
    ],
    ids=["private", "metadata", "loopback", "mapped-private"],
)
async def test_a_name_resolving_to_a_forbidden_address_is_refused_at_connect(
    db: AsyncSession,
    platform: Platform,
    tenant: TenantInfo,
    addresses: list[str],
    refused: str,
) -> None:
    """The name passes when saved; the address it resolves to when sending does not."""
    assert service.check_url(platform.settings, "https://rebind.example/hook") is None
    worker = _worker(platform, {"rebind.example": addresses})
    try:
        attempt = await _attempt_to(db, platform, tenant, "https://rebind.example/hook", worker)
    finally:
        await worker.stop()
    assert attempt.response_status is None
    assert attempt.error is not None
    assert f"refused rebind.example: address {refused} is not allowed" in attempt.error


async def test_localhost_by_its_real_dns_name_is_refused(
    db: AsyncSession, platform: Platform, tenant: TenantInfo, receiver: Receiver, worker: Worker
) -> None:
    """``localhost`` over https, resolved by the system resolver, reaches nothing."""
    url = f"https://localhost:{receiver.port}/ok"
    attempt = await _attempt_to(db, platform, tenant, url, worker)
    assert attempt.error is not None and "is not allowed" in attempt.error
    assert receiver.requests == []


async def test_http_is_only_for_loopback_even_when_a_name_resolves_elsewhere(
    db: AsyncSession, platform: Platform, tenant: TenantInfo
) -> None:
    worker = _worker(platform, {"localhost": ["93.184.215.14"]})
    try:
        attempt = await _attempt_to(db, platform, tenant, "http://localhost:9/hook", worker)
    finally:
        await worker.stop()
    assert attempt.error is not None and "93.184.215.14 is not allowed" in attempt.error


async def test_a_redirect_to_a_private_address_is_not_followed(
    db: AsyncSession, platform: Platform, tenant: TenantInfo, receiver: Receiver, worker: Worker
) -> None:
    attempt = await _attempt_to(db, platform, tenant, receiver.url("/redirect"), worker)
    assert attempt.response_status == 302
    assert attempt.error == "redirects are not followed"
    assert [r.path for r in receiver.requests] == ["/redirect"]


async def test_an_http_url_is_refused_once_development_mode_is_off(
    db: AsyncSession, platform: Platform, tenant: TenantInfo, receiver: Receiver, settings: Settings
) -> None:
    """A URL saved while http:// to loopback was allowed is not sent in the clear later."""
    strict = Worker(settings, platform.sessionmaker, platform.writes)
    try:
        attempt = await _attempt_to(db, platform, tenant, receiver.url(), strict)
    finally:
        await strict.stop()
    assert attempt.error is not None and "http:// is refused" in attempt.error
    assert receiver.requests == []
