"""Operating the platform: health and readiness, metrics, request ids and logs.

``wiring.install`` adds all of it to the app (``app.py``). ``observe_feed_lag``
is for the change feed: call it with the seconds a change took to arrive.
Importing this package loads only the metrics, so any module may count.
"""

from __future__ import annotations

from cloudcx.ops.metrics import observe_feed_lag

__all__ = ["observe_feed_lag"]
