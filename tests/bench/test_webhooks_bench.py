"""``bench/webhooks.py`` measures what it says: every event arrives, delays are sane."""

from __future__ import annotations

from pathlib import Path

from bench import webhooks


async def test_every_event_arrives_and_the_delays_are_ordered(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'bench.db'}"
    result = await webhooks.measure(url, 40, tmp_path)
    assert result.events == result.delivered == 40
    assert result.rate > 0
    assert 0 < result.p50_ms <= result.p99_ms < 30_000
