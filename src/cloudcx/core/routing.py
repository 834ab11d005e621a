"""``DirectRoute``: an API operation whose endpoint takes the request alone.

FastAPI's request handler resolves the endpoint's dependencies, reads its
parameters and validates its response model on every call; for the busiest
operations (``/api/v1/me``, the token and introspection endpoints) that cost as
much as the operation's own work. A ``DirectRoute`` calls the endpoint with the
``Request`` and sends the ``Response`` it returns, nothing in between, while
FastAPI still routes to it and documents it in OpenAPI (its ``response_model``
and ``responses`` describe what the endpoint renders by hand).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import Request, Response
from fastapi.routing import APIRoute


class DirectRoute(APIRoute):
    def __init__(self, path: str, endpoint: Callable[..., Any], **kwargs: Any) -> None:
        parameters = list(inspect.signature(endpoint).parameters)
        if parameters != ["request"] or not inspect.iscoroutinefunction(endpoint):
            raise TypeError(
                f"{endpoint.__qualname__}: a DirectRoute endpoint is `async def f(request)`"
            )
        super().__init__(path, endpoint, **kwargs)

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        endpoint: Callable[[Request], Coroutine[Any, Any, Response]] = self.endpoint
        return endpoint
