"""What a page must never do while a person uses it: log errors or lose requests."""

from __future__ import annotations

import re
from dataclasses import dataclass, field


@dataclass
class PageProblems:
    """Console errors, uncaught exceptions and failed requests seen in a browser context.

    A test that provokes one on purpose says so with ``allow``; anything else
    fails the test when its context closes.
    """

    seen: list[str] = field(default_factory=list)
    allowed: list[re.Pattern[str]] = field(default_factory=list)
    artifacts: str = ""

    def add(self, kind: str, detail: str) -> None:
        text = f"{kind}: {detail}"
        if not any(pattern.search(text) for pattern in self.allowed):
            self.seen.append(text)

    def allow(self, pattern: str) -> None:
        self.allowed.append(re.compile(pattern))

    def __bool__(self) -> bool:
        return bool(self.seen)

    def assert_none(self) -> None:
        where = f" (artefacts in {self.artifacts})" if self.artifacts else ""
        assert not self.seen, "the pages reported problems" + where + ":\n" + "\n".join(self.seen)
