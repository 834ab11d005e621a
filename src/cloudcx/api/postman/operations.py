"""Every ``/api/v1`` operation of the OpenAPI document as Postman requests, by tag.

Requests run in an order that works: a folder creates its record first, reads
and changes it, and deletes it last; a tag whose paths lie under another tag's
record (a ticket's messages) is a folder inside that one, before the delete.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from cloudcx.api.openapi import API_PREFIX
from cloudcx.api.postman import scripts as js
from cloudcx.api.postman.items import PATH_PARAM, Item, json_body, request

IDEMPOTENCY_KEY = "Idempotency-Key"
_RANK = {"post": 0, "get": 1, "put": 2, "patch": 2, "delete": 3}


@dataclass(frozen=True)
class Operation:
    method: str
    path: str
    spec: dict[str, Any]
    index: int  # position in the OpenAPI document

    @property
    def tag(self) -> str:
        tags: list[str] = self.spec.get("tags") or ["API"]
        return tags[0]

    @property
    def rank(self) -> int:
        """Create, read, change, delete: the order in which a folder's requests work."""
        if self.method == "post" and self.path.endswith("}"):
            return 1  # an action on an existing record
        return _RANK.get(self.method, 1)


def operations(openapi: dict[str, Any]) -> list[Operation]:
    """Every operation under ``/api/v1`` in document order."""
    found: list[Operation] = []
    for path, item in openapi.get("paths", {}).items():
        if path.startswith(API_PREFIX):
            for method, spec in item.items():
                if method in _RANK:
                    found.append(Operation(method, path, spec, len(found)))
    return found


def api_folders(openapi: dict[str, Any]) -> list[Item]:
    ops = operations(openapi)
    by_tag: dict[str, list[Operation]] = {}
    for tag in [t["name"] for t in openapi.get("tags", [])] + [op.tag for op in ops]:
        by_tag.setdefault(tag, [])
    for op in ops:
        by_tag[op.tag].append(op)
    by_tag = {tag: found for tag, found in by_tag.items() if found}
    parents = {tag: _parent(tag, by_tag) for tag in by_tag}
    descriptions = {t["name"]: t.get("description", "") for t in openapi.get("tags", [])}
    paths = set(openapi.get("paths", {}))

    def folder(tag: str) -> Item:
        items: list[Item] = []
        children = [t for t in by_tag if parents[t] == tag]
        for op in sorted(by_tag[tag], key=lambda o: (o.rank, o.index)):
            if op.rank == _RANK["delete"] and children:
                items += [folder(child) for child in children]
                children = []
            items += _operation_items(openapi, op, paths)
        items += [folder(child) for child in children]
        return {"name": tag, "description": descriptions.get(tag, ""), "item": items}

    return [folder(tag) for tag in by_tag if parents[tag] is None]


def _parent(tag: str, by_tag: dict[str, list[Operation]]) -> str | None:
    """The tag whose record every path of ``tag`` lies under (a ticket's messages)."""
    for other, ops in by_tag.items():
        records = {op.path for op in ops if op.path.endswith("}")}
        if (
            other != tag
            and records
            and all(any(op.path.startswith(r + "/") for r in records) for op in by_tag[tag])
        ):
            return other
    return None


def _operation_items(openapi: dict[str, Any], op: Operation, paths: set[str]) -> list[Item]:
    status, media, response_schema = _success(openapi, op.spec)
    created = (
        _created_variable(op, paths) if "id" in response_schema.get("properties", {}) else None
    )
    summary = op.spec.get("summary") or f"{op.method.upper()} {op.path}"
    bodies = _example_bodies(openapi, op.spec)
    items = []
    for example, body in bodies:
        name = summary if len(bodies) == 1 else f"{summary}: {json.dumps(example)}"
        tests = js.render(
            js.STATUS, title=f"{status} {name}", status=status, media=media, variable=created
        )
        items.append(
            request(
                name,
                op.method,
                op.path,
                body=None if body is None else json_body(body),
                parameters=[_parameter(openapi, p) for p in op.spec.get("parameters", [])],
                tests=tests,
                description=op.spec.get("description", ""),
            )
        )
    return items


def _created_variable(op: Operation, paths: set[str]) -> str | None:
    """For a POST that creates a record, the path parameter that names it (``ticket_id``)."""
    if op.method != "post" or op.path.endswith("}"):
        return None
    for path in sorted(paths):
        found = PATH_PARAM.fullmatch(path.removeprefix(op.path + "/"))
        if path.startswith(op.path + "/") and found:
            return found.group(1)
    return None


def _success(openapi: dict[str, Any], spec: dict[str, Any]) -> tuple[int, str | None, Item]:
    """The operation's first 2xx status, its JSON media type (if any) and body schema.

    An operation that cannot succeed on a fresh installation by its example alone
    (it names a past record no request of the collection makes) says which of its
    documented answers the collection expects instead, in ``x-postman-status``.
    """
    codes = sorted(int(c) for c in spec.get("responses", {}) if c.isdigit() and c[0] == "2")
    status = int(spec.get("x-postman-status") or (codes[0] if codes else 200))
    content = spec.get("responses", {}).get(str(status), {}).get("content", {})
    media = next((m for m in content if m.endswith("json")), None)
    schema = _resolve(openapi, content[media].get("schema", {})) if media else {}
    return status, media, schema


def _resolve(openapi: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        node: Any = openapi
        for part in schema["$ref"].removeprefix("#/").split("/"):
            node = node[part]
        schema = node
    return schema


def _sample(openapi: dict[str, Any], schema: dict[str, Any]) -> Any:
    """An example value for a parameter: its example, default or first choice."""
    schema = _resolve(openapi, schema)
    for key in ("examples", "enum"):
        if schema.get(key):
            return schema[key][0]
    if schema.get("example") is not None:
        return schema["example"]
    if schema.get("default") not in (None, [], ""):
        return schema["default"]
    for variant in schema.get("anyOf", []):
        if variant.get("type") != "null":
            return _sample(openapi, variant)
    return _sample(openapi, schema["items"]) if "items" in schema else ""


def _parameter(openapi: dict[str, Any], parameter: dict[str, Any]) -> tuple[str, str, Item]:
    where, name = parameter["in"], parameter["name"]
    if where == "path":
        value = "{{" + name + "}}"
    elif name == IDEMPOTENCY_KEY:
        value = "{{$guid}}"  # a new key per send: a repeated send is a new request
    else:
        value = str(_sample(openapi, parameter.get("schema", {})))
    entry: Item = {"key": name, "value": value, "description": parameter.get("description", "")}
    if where != "path" and not parameter.get("required") and name != IDEMPOTENCY_KEY:
        entry["disabled"] = True
    return where, name, entry


def _example_bodies(openapi: dict[str, Any], spec: dict[str, Any]) -> list[tuple[Any, Any]]:
    """(example, body to send) for each example of the JSON request body; one without body."""
    content = spec.get("requestBody", {}).get("content", {}).get("application/json")
    if content is None:
        return [(None, None)]
    schema = _resolve(openapi, content.get("schema", {}))
    examples = [e.get("value") for e in content.get("examples", {}).values()]
    examples = examples or schema.get("examples") or [schema.get("example") or _built(schema)]
    return [(e, _repeatable(openapi, schema, e)) for e in examples]


def _built(schema: dict[str, Any]) -> dict[str, Any]:
    return {name: "" for name in schema.get("required", [])}


def _repeatable(openapi: dict[str, Any], schema: dict[str, Any], example: Any) -> Any:
    """The example made to run as it is, again and again, on any tenant.

    Ids of other records name another installation's rows, so they are left
    out; emails get a unique part (they are unique per tenant); a password is
    random, so that no account is left with a password printed in the document.
    """
    if not isinstance(example, dict):
        return example
    properties = schema.get("properties", {})
    body = {}
    for key, given in example.items():
        value = given
        prop = _resolve(openapi, properties.get(key, {}))
        formats = {v.get("format") for v in [prop, *prop.get("anyOf", [])]}
        if "uuid" in formats and key not in schema.get("required", []):
            continue
        if "uuid" in formats:
            value = "{{$guid}}"  # required: an id no record has (x-postman-status says why)
        if key == "password" or "password" in formats:
            value = "{{$guid}}"
        elif isinstance(value, str) and "@" in value and ("email" in formats or "email" in key):
            local, _, domain = value.partition("@")
            value = f"{local}+{{{{$guid}}}}@{domain}"
        body[key] = value
    return body
