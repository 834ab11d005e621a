"""NIST SP 800-63B §5.1.1.2: length, a blocklist of common passwords, no repetition."""

from __future__ import annotations

import pytest

from cloudcx.accounts.service import AccountError, check_password
from cloudcx.core.passwords import MAX_LENGTH, Passwords
from cloudcx.security.password_policy import common_passwords, problem

EMAIL = "dana@acme.example"


@pytest.mark.parametrize(
    "password",
    [
        "short-pw",
        "x" * (MAX_LENGTH + 1),
        "password1234",
        "Password123456!",
        "qwertyuiop123",
        "iloveyou12345",
        "aaaaaaaaaaaa",
        "abcabcabcabc",
        "passwordpassword",
        "123456789012",
        "abcdefghijklm",
        "dana@acme.example",
        "dana2024!!!!",
    ],
    ids=[
        "too-short",
        "too-long",
        "common",
        "common-capitalised-with-suffix",
        "keyboard-walk",
        "common-with-digits",
        "one-character",
        "short-unit-repeated",
        "common-word-repeated",
        "digit-sequence",
        "letter-sequence",
        "the-email",
        "email-name-with-digits",
    ],
)
def test_weak_passwords_are_refused(password: str) -> None:
    assert problem(password, EMAIL) is not None
    with pytest.raises(AccountError):
        check_password(password, EMAIL)


@pytest.mark.parametrize(
    "password",
    [
        "correct horse battery staple",
        "a-long-and-Good-passw0rd",
        "Tr0ub4dor&3-xyzzy",
        "Grüße aus München 2026",
    ],
    ids=["passphrase", "suite-password", "mixed", "unicode"],
)
def test_reasonable_passwords_pass(password: str) -> None:
    assert problem(password, EMAIL) is None


def test_the_shipped_list_is_loaded() -> None:
    common = common_passwords()
    assert len(common) > 5000
    assert {"password", "123456", "qwerty"} <= common


def test_overlong_password_is_refused_before_hashing() -> None:
    """argon2's cost grows with the input; a 1 MB password must not reach it."""
    passwords = Passwords(1, 64, 1)
    stored = passwords.hash("a-long-and-Good-passw0rd")
    assert passwords.verify(stored, "a" * (MAX_LENGTH + 1)) is False
