"""Settings: the defaults a deployment gets without configuring anything."""

from __future__ import annotations

import pytest

from cloudcx.config import Settings

ARGON2_VARIABLES = (
    "CLOUDCX_ARGON2_TIME_COST",
    "CLOUDCX_ARGON2_MEMORY_KIB",
    "CLOUDCX_ARGON2_PARALLELISM",
)


def argon2_cost(settings: Settings) -> tuple[int, int, int]:
    return settings.argon2_memory_kib, settings.argon2_time_cost, settings.argon2_parallelism


def test_default_argon2_cost_is_owasps_minimum_configuration(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """OWASP Password Storage Cheat Sheet: m = 19 MiB, t = 2, p = 1."""
    for name in ARGON2_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    assert argon2_cost(Settings(_env_file=None)) == (19456, 2, 1)


def test_argon2_cost_is_read_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in zip(ARGON2_VARIABLES, ("3", "65536", "4"), strict=True):
        monkeypatch.setenv(name, value)
    assert argon2_cost(Settings(_env_file=None)) == (65536, 3, 4)
