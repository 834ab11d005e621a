"""Confirmation pages for destructive or access-changing actions, without JavaScript.

The action's link (GET) shows the page; its one form POSTs to the action with
``confirmed=yes``. An action reached from a form (a Save that disables a
client) carries that form's fields through the page as hidden inputs, so
confirming saves exactly what was entered.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from fastapi.responses import Response
from starlette.datastructures import FormData

from cloudcx.console.web import Console

NOT_CARRIED = frozenset({"csrf_token", "confirmed"})


@dataclass(frozen=True, slots=True)
class Confirmation:
    title: str
    lines: Sequence[str]
    action: str
    button: str
    cancel: str
    danger: bool = True
    carried: Sequence[tuple[str, str]] = field(default_factory=tuple)


def ask(cx: Console, confirmation: Confirmation) -> Response:
    response = cx.render("confirm.html", confirm=confirmation)
    response.headers["Cache-Control"] = "no-store"
    return response


def is_confirmed(form: FormData) -> bool:
    return form.get("confirmed") == "yes"


def carried(form: FormData, skip: Iterable[str] = ()) -> list[tuple[str, str]]:
    """The form's text fields, to send again from the confirmation page."""
    dropped = NOT_CARRIED | set(skip)
    return [(k, v) for k, v in form.multi_items() if k not in dropped and isinstance(v, str)]
