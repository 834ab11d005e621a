"""The OpenAPI 3.1 ``webhooks`` section: every event a receiver may be sent.

Each event type is declared as an operation receiving its payload model, so
``/openapi.json`` (and ``/docs``) describe the body, the Standard Webhooks
headers and the answers the platform acts on.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import APIRouter, Header

from cloudcx.webhooks.events import EVENT_TYPES, PAYLOADS, Envelope

ANSWERS: dict[int | str, dict[str, Any]] = {
    "2XX": {"description": "Delivered: the platform does not send this event again."},
    "410": {"description": "Gone: the platform disables the webhook."},
    "default": {
        "description": "Any other answer, a redirect or no answer within 10 s: retried with "
        "exponential backoff and jitter for 24 hours."
    },
}
HEADERS = "`webhook-id` (the event id), `webhook-timestamp` and `webhook-signature`"


def _receiver(model: type[Envelope]) -> Callable[..., Coroutine[Any, Any, None]]:
    async def receive(
        payload: Any,
        webhook_id: Any = Header(description="The event id; the same on every retry."),
        webhook_timestamp: Any = Header(description="Unix time of this attempt."),
        webhook_signature: Any = Header(
            description="Space-separated `v1,<base64 HMAC-SHA256>`, one per secret in force."
        ),
    ) -> None:
        """Documentation only: the platform sends, the integrator receives."""

    receive.__annotations__ = {
        "payload": model,
        "webhook_id": str,
        "webhook_timestamp": str,
        "webhook_signature": str,
        "return": None,
    }
    return receive


def router() -> APIRouter:
    declared = APIRouter()
    for name, model in PAYLOADS.items():
        event = EVENT_TYPES[name]
        declared.add_api_route(
            name,
            _receiver(model),
            methods=["POST"],
            summary=event.label,
            description=f"{event.description}\n\nSigned per Standard Webhooks: {HEADERS}.",
            tags=[f"Webhooks: {event.group}"],
            responses=ANSWERS,
            status_code=200,
        )
    return declared
