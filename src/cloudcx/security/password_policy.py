"""What makes a new password acceptable (NIST SP 800-63B §5.1.1.2).

Length is what counts: 12 to 1,024 characters, no composition rules. A
password is refused when it is on the shipped list of common passwords (also
with digits or symbols added at the end), repetitive or sequential
("aaaaaaaaaaaa", "abcabcabcabc", "123456789012"), or made of the user's email.
"""

from __future__ import annotations

import itertools
import re
import string
from functools import lru_cache
from importlib.resources import files

from cloudcx.core.passwords import MAX_LENGTH, MIN_LENGTH

_TRAILING = string.digits + string.punctuation + " "
_REPEATED = re.compile(r"(.+?)\1+", re.DOTALL)


@lru_cache(maxsize=1)
def common_passwords() -> frozenset[str]:
    text = files("cloudcx").joinpath("data/common-passwords.txt").read_text("utf-8")
    return frozenset(
        line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#")
    )


def problem(password: str, email: str = "") -> str | None:
    """Why this password may not be used, in words for the person choosing it; None if fine."""
    if len(password) < MIN_LENGTH:
        return f"The password must have at least {MIN_LENGTH} characters."
    if len(password) > MAX_LENGTH:
        return f"The password must have at most {MAX_LENGTH} characters."
    lowered = password.lower()
    common = common_passwords()
    base = lowered.rstrip(_TRAILING)
    if lowered in common or (len(base) >= 4 and base in common):
        return "This password is too common. Choose one that is harder to guess."
    repeated = _REPEATED.fullmatch(lowered)
    if repeated and (len(repeated.group(1)) <= 4 or repeated.group(1) in common):
        return "This password repeats itself. Choose one that is harder to guess."
    if _is_sequence(lowered):
        return "This password is a simple sequence. Choose one that is harder to guess."
    if _uses_email(lowered, email.strip().lower()):
        return "The password must not be made of your email address."
    return None


def _is_sequence(value: str) -> bool:
    """Each character one step after (or before) the last: "abcdefghijkl", "987654321098"."""
    steps = {
        (ord(b) - ord(a)) % 10 if a.isdigit() and b.isdigit() else ord(b) - ord(a)
        for a, b in itertools.pairwise(value)
    }
    return steps in ({1}, {-1}, {9})


def _uses_email(lowered: str, email: str) -> bool:
    if not email:
        return False
    local = email.split("@", 1)[0]
    return email in lowered or (len(local) >= 3 and lowered.strip(_TRAILING) == local)
