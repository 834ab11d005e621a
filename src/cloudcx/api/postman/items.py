"""Postman's building blocks (collection schema v2.1): requests, bodies, auth, scripts."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from typing import Any

Item = dict[str, Any]
PATH_PARAM = re.compile(r"\{(\w+)\}")


def request(
    name: str,
    method: str,
    path: str,
    *,
    auth: Item | None = None,
    body: Item | None = None,
    parameters: Sequence[tuple[str, str, Item]] = (),
    prerequest: list[str] | None = None,
    tests: list[str] | None = None,
    follow_redirects: bool = True,
    description: str = "",
) -> Item:
    query = [entry for where, _, entry in parameters if where == "query"]
    headers = [entry for where, _, entry in parameters if where == "header"]
    variables = [entry for where, _, entry in parameters if where == "path"]
    if body is not None and body["mode"] == "raw":
        headers.insert(0, {"key": "Content-Type", "value": "application/json"})
    postman_path = PATH_PARAM.sub(r":\1", path)
    enabled = "&".join(f"{q['key']}={q['value']}" for q in query if not q.get("disabled"))
    url: Item = {
        "raw": "{{base_url}}" + postman_path + (f"?{enabled}" if enabled else ""),
        "host": ["{{base_url}}"],
        "path": postman_path.strip("/").split("/"),
    }
    if query:
        url["query"] = query
    if variables:
        url["variable"] = variables
    request: Item = {"method": method.upper(), "header": headers, "url": url}
    if description:
        request["description"] = description
    if auth is not None:
        request["auth"] = auth
    if body is not None:
        request["body"] = body
    item: Item = {"name": name, "request": request, "response": []}
    events = [event("prerequest", prerequest), event("test", tests)]
    item["event"] = [e for e in events if e["script"]["exec"]]
    if not follow_redirects:
        item["protocolProfileBehavior"] = {"followRedirects": False}
    return item


def event(listen: str, lines: list[str] | None) -> Item:
    return {"listen": listen, "script": {"type": "text/javascript", "exec": lines or []}}


def form(fields: dict[str, str]) -> Item:
    pairs = [{"key": k, "value": v, "type": "text"} for k, v in fields.items()]
    return {"mode": "urlencoded", "urlencoded": pairs}


def json_body(value: Any) -> Item:
    raw = json.dumps(value, indent=2, ensure_ascii=False)
    return {"mode": "raw", "raw": raw, "options": {"raw": {"language": "json"}}}


def bearer(variable: str) -> Item:
    return {"type": "bearer", "bearer": [{"key": "token", "value": f"{{{{{variable}}}}}"}]}


def oauth2(fields: dict[str, str]) -> Item:
    fields = fields | {"headerPrefix": "Bearer", "addTokenTo": "header"}
    return {"type": "oauth2", "oauth2": [{"key": k, "value": v} for k, v in fields.items()]}


def all_requests(items: list[Item]) -> list[Item]:
    """Every request of ``items``, folders opened, in run order."""
    found = []
    for item in items:
        found += all_requests(item["item"]) if "item" in item else [item]
    return found


def path_variables(item: Item) -> list[str]:
    return [v["key"] for v in item["request"]["url"].get("variable", [])]
