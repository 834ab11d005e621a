"""Cases drawn by Hypothesis for async tests, which send them one by one.

Hypothesis cannot drive a coroutine itself; the draw is derandomized, so every
run sends the same cases.
"""

from __future__ import annotations

from typing import TypeVar

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

T = TypeVar("T")


def drawn(strategy: st.SearchStrategy[T], count: int) -> list[T]:
    found: list[T] = []

    @settings(
        max_examples=count,
        derandomize=True,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(value=strategy)
    def collect(value: T) -> None:
        found.append(value)

    collect()
    return found
