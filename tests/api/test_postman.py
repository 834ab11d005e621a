"""The Postman collection and environment: made from OpenAPI, complete, runnable in order.

``tests/integrations/test_postman.py`` runs the collection with newman against
a real server; these tests check what makes that run meaningful without Node.
"""

from __future__ import annotations

import copy
import json
import re
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from cloudcx.api import postman
from cloudcx.api.docs import POSTMAN_CACHE
from cloudcx.api.postman import scripts as js

BASE = "https://cx.acme.example"
ENVIRONMENT_KEYS = {k for k, _ in postman.ENVIRONMENT}
# Pages of the Control Panel the code-flow folder walks like a browser: not API operations.
BROWSER_STEPS = {("GET", "/login"), ("POST", "/login"), ("GET", "/oauth/authorize"),
                 ("POST", "/oauth/authorize")}  # fmt: skip
_VARIABLE = re.compile(r"\{\{([^}]+)\}\}")
_SETS = re.compile(r"collectionVariables\.set\(['\"](\w+)['\"]")


@pytest.fixture(scope="module")
def openapi(app: FastAPI) -> dict[str, Any]:
    return app.openapi()


@pytest.fixture(scope="module")
def collection(openapi: dict[str, Any]) -> dict[str, Any]:
    return postman.collection(openapi, BASE)


def folders(items: list[dict[str, Any]], trail: tuple[str, ...] = ()) -> list[Any]:
    """(folder names from the top, request) for every request, in run order."""
    found = []
    for item in items:
        if "item" in item:
            found += folders(item["item"], (*trail, item["name"]))
        else:
            found.append((trail, item))
    return found


def requests_of(collection: dict[str, Any]) -> list[dict[str, Any]]:
    return [item for _, item in folders(collection["item"])]


def method_path(item: dict[str, Any]) -> tuple[str, str]:
    path = "/" + "/".join(item["request"]["url"]["path"])
    return item["request"]["method"], re.sub(r":(\w+)", r"{\1}", path)


def api_operations(openapi: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (method.upper(), path, op)
        for path, entry in openapi["paths"].items()
        for method, op in entry.items()
        if path.startswith("/api/v1/")
    ]


def inherited_auth(collection: dict[str, Any], item: dict[str, Any]) -> Any:
    for folder in collection["item"]:
        if "auth" in folder and item in requests_of({"item": [folder]}):
            return folder["auth"]
    return collection["auth"]


def scripts(item: dict[str, Any], listen: str) -> str:
    return "\n".join(
        line for e in item.get("event", []) if e["listen"] == listen for line in e["script"]["exec"]
    )


def test_a_v2_1_collection_named_for_the_domain(collection: dict[str, Any]) -> None:
    info = collection["info"]
    assert info["schema"] == "https://schema.getpostman.com/json/collection/v2.1.0/collection.json"
    assert info["name"] == "CloudCX API (cx.acme.example)"
    assert uuid.UUID(info["_postman_id"]) == uuid.UUID(
        postman.collection({"info": {"title": "x"}, "paths": {}}, BASE)["info"]["_postman_id"]
    ), "one id per domain: importing again replaces the collection"
    variables = {v["key"]: v["value"] for v in collection["variable"]}
    assert variables["base_url"] == BASE
    assert {"access_token", "ticket_id", "contact_id", "user_id"} <= set(variables)
    for item in requests_of(collection):
        assert item["request"]["url"]["raw"].startswith("{{base_url}}/"), item["name"]
        assert item["request"]["url"]["host"] == ["{{base_url}}"]
    assert BASE not in json.dumps(collection["item"]), "requests use {{base_url}} only"


def test_collection_auth_is_the_guides_password_grant(collection: dict[str, Any]) -> None:
    auth = collection["auth"]
    assert auth["type"] == "oauth2"
    fields = {f["key"]: f["value"] for f in auth["oauth2"]}
    assert fields["grant_type"] == "password_credentials"
    assert fields["accessTokenUrl"] == "{{base_url}}/oauth/token"
    assert (fields["username"], fields["password"], fields["clientId"]) == (
        "{{email}}",
        "{{password}}",
        "{{client_id}}",
    )
    assert fields["headerPrefix"] == "Bearer"
    assert fields["addTokenTo"] == "header"
    assert fields["accessToken"] == "{{access_token}}"
    [pre] = collection["event"]
    source = "\n".join(pre["script"]["exec"])
    assert pre["listen"] == "prerequest"
    assert "{{base_url}}/oauth/token" in source
    for key in ("'email'", "'password'", "'client_id'", "'grant_type', value: 'password'"):
        assert key in source
    assert "pm.collectionVariables.set('access_token'" in source


def test_the_guides_token_request_with_email_and_with_username(
    collection: dict[str, Any],
) -> None:
    oauth = next(f for f in collection["item"] if f["name"] == postman.OAUTH_TAG)
    first, second = oauth["item"][:2]
    for item, login in ((first, "email"), (second, "username")):
        request = item["request"]
        assert (request["method"], request["url"]["raw"]) == ("POST", "{{base_url}}/oauth/token")
        assert request["auth"] == {"type": "noauth"}
        assert request["body"]["mode"] == "urlencoded"
        form = [(p["key"], p["value"]) for p in request["body"]["urlencoded"]]
        assert form == [
            (login, "{{email}}"),
            ("password", "{{password}}"),
            ("grant_type", "password"),
            ("client_id", "{{client_id}}"),
        ]
        test = scripts(item, "test")
        assert "pm.response.to.have.status(200)" in test
        assert 'pm.collectionVariables.set("access_token"' in test


def test_the_refusals_401_and_403(collection: dict[str, Any]) -> None:
    by_name = {item["name"]: item for item in requests_of(collection)}
    without = by_name["Without a token: 401"]
    assert without["request"]["auth"] == {"type": "noauth"}
    assert "to.have.status(401)" in scripts(without, "test")
    narrow = by_name["A token with the profile scope only"]
    assert {"key": "scope", "value": "profile", "type": "text"} in narrow["request"]["body"][
        "urlencoded"
    ]
    forbidden = by_name["Missing scope: 403"]
    assert method_path(forbidden) == ("GET", "/api/v1/tickets")
    assert forbidden["request"]["auth"]["bearer"][0]["value"] == "{{narrow_access_token}}"
    test = scripts(forbidden, "test")
    assert "to.have.status(403)" in test and '"insufficient_scope"' in test


def test_every_api_operation_is_in_its_tag_folder(
    openapi: dict[str, Any], collection: dict[str, Any]
) -> None:
    placed = [(trail[-1], *method_path(item)) for trail, item in folders(collection["item"])]
    for method, path, op in api_operations(openapi):
        assert (op["tags"][0], method, path) in placed, (method, path)
    top = [f["name"] for f in collection["item"]]
    assert top[0] == postman.OAUTH_TAG
    assert top[-2:] == [postman.CODE_FLOW, postman.CLIENT_CREDENTIALS]
    tags = {op["tags"][0] for _, _, op in api_operations(openapi)}
    nested = {trail[-1] for trail, _ in folders(collection["item"]) if len(trail) > 1}
    assert tags <= set(top) | nested
    assert nested == {"Messages"}, "only a record's own sub-resources are nested"


def test_every_openapi_operation_is_sent_and_nothing_else(
    openapi: dict[str, Any], collection: dict[str, Any]
) -> None:
    documented = {
        (m.upper(), p) for p, entry in openapi["paths"].items() for m in entry if m != "parameters"
    }
    sent = {method_path(item) for item in requests_of(collection)}
    assert documented <= sent, documented - sent
    assert sent - documented == BROWSER_STEPS


def test_generated_from_the_document_it_is_given(openapi: dict[str, Any]) -> None:
    """No drift: an operation added to or removed from OpenAPI is added to or removed from
    the collection, with the status and body the document gives it."""
    changed = copy.deepcopy(openapi)
    del changed["paths"]["/api/v1/contacts/{contact_id}/tickets"]
    changed["paths"]["/api/v1/widgets"] = {
        "post": {
            "tags": ["Widgets"],
            "summary": "Make a widget",
            "requestBody": {
                "content": {
                    "application/json": {"schema": {"examples": [{"size": 3}], "type": "object"}}
                }
            },
            "responses": {"202": {"description": "Accepted"}},
        }
    }
    generated = postman.collection(changed, BASE)
    names = {item["name"]: (trail, item) for trail, item in folders(generated["item"])}
    assert "Tickets requested by a contact" not in names
    trail, widget = names["Make a widget"]
    assert trail == ("Widgets",)
    assert json.loads(widget["request"]["body"]["raw"]) == {"size": 3}
    assert "pm.response.to.have.status(202)" in scripts(widget, "test")


def test_each_request_asserts_its_operations_status(
    openapi: dict[str, Any], collection: dict[str, Any]
) -> None:
    operations = {(m, p): op for m, p, op in api_operations(openapi)}
    for trail, item in folders(collection["item"]):
        op = operations.get(method_path(item))
        if op is None or trail[0] in (
            postman.OAUTH_TAG,
            postman.CLIENT_CREDENTIALS,
            postman.CODE_FLOW,
        ):
            continue
        expected = op.get("x-postman-status") or min(
            int(c) for c in op["responses"] if c.startswith("2")
        )
        assert str(expected) in op["responses"], item["name"]  # a documented answer
        assert f"pm.response.to.have.status({expected})" in scripts(item, "test"), item["name"]
    codes = {
        item["name"]: re.findall(r"have\.status\((\d+)\)", scripts(item, "test"))
        for item in requests_of(collection)
    }
    assert codes["Create a ticket"] == ["201"]
    # Redelivery names an event; the collection's, never sent, shows the refusal.
    assert codes["Send a past event to this webhook again"] == ["404"]
    assert codes["Delete a ticket and its conversation"] == ["204"]
    for item in requests_of(collection):
        test = scripts(item, "test")
        assert "have.status(" in test or "response.code).to.be.oneOf" in test, item["name"]


def test_example_bodies_run_as_they_are(
    openapi: dict[str, Any], collection: dict[str, Any]
) -> None:
    operations = {(m, p): op for m, p, op in api_operations(openapi)}
    bodies: dict[str, dict[str, Any]] = {}
    for item in requests_of(collection):
        op = operations.get(method_path(item))
        if op is None or "requestBody" not in op:
            continue
        body = item["request"]["body"]
        assert body["mode"] == "raw" and body["options"]["raw"]["language"] == "json"
        assert {"key": "Content-Type", "value": "application/json"} in item["request"]["header"]
        sent = json.loads(body["raw"].replace("{{$guid}}", str(uuid.uuid4())))
        ref = op["requestBody"]["content"]["application/json"]["schema"]["$ref"]
        schema = openapi["components"]["schemas"][ref.rsplit("/", 1)[1]]
        assert set(sent) <= set(schema["properties"]), item["name"]
        assert set(schema.get("required", [])) <= set(sent), item["name"]
        bodies[item["name"]] = json.loads(body["raw"])
    ticket = bodies["Create a ticket"]
    assert "requester_id" not in ticket, "another installation's ids are left out"
    assert ticket["subject"] == "Cannot sign in to the mobile app"
    contact = bodies["Create a contact"]
    assert contact["email"] == "ada+{{$guid}}@example.com", "unique on every run"
    user = bodies["Create an agent or administrator (administrators only)"]
    assert user["password"] == "{{$guid}}", "no account keeps a password printed here"
    assert user["email"] == "grace+{{$guid}}@example.com"
    updates = [name for name in bodies if name.startswith("Change a user's")]
    assert [json.loads(name.split(": ", 1)[1]) for name in updates] == [
        {"role": "admin"},
        {"is_active": False},
    ], "one request per example, the last one deactivates the user"


def test_requests_run_in_an_order_that_works(collection: dict[str, Any]) -> None:
    """Each variable a request sends was set before (by the environment or an earlier
    script), and a record is deleted only after every request that names it."""
    known = ENVIRONMENT_KEYS | set(
        _SETS.findall(" ".join(collection["event"][0]["script"]["exec"]))
    )
    ordered = requests_of(collection)
    for position, item in enumerate(ordered):
        sent = json.dumps(item["request"])
        if "auth" not in item["request"]:  # the folder's, else the collection's
            sent += json.dumps(inherited_auth(collection, item))
        needed = {v for v in _VARIABLE.findall(sent) if not v.startswith("$")}
        own = set(_SETS.findall(scripts(item, "prerequest")))
        assert needed <= known | own, (item["name"], needed - known - own)
        known |= own | set(_SETS.findall(scripts(item, "test")))
        if item["request"]["method"] == "DELETE":
            for variable in item["request"]["url"]["variable"]:
                later = [json.dumps(i["request"]) for i in ordered[position + 1 :]]
                assert not any(variable["value"] in text for text in later), item["name"]
    creates = {item["name"]: _SETS.findall(scripts(item, "test")) for item in ordered}
    assert creates["Create a ticket"] == ["ticket_id"]
    assert creates["Create a contact"] == ["contact_id"]


def test_code_flow_and_client_credentials_folders(collection: dict[str, Any]) -> None:
    folders_by_name = {f["name"]: f for f in collection["item"]}
    code = folders_by_name[postman.CODE_FLOW]
    fields = {f["key"]: f["value"] for f in code["auth"]["oauth2"]}
    assert fields["grant_type"] == "authorization_code_with_pkce"
    assert fields["challengeAlgorithm"] == "S256"
    assert fields["authUrl"] == "{{base_url}}/oauth/authorize"
    assert fields["accessToken"] == "{{code_access_token}}"
    steps = {item["name"]: item for item in code["item"]}
    start = scripts(steps["Sign-in page"], "prerequest")
    assert "SHA256" in start and "code_challenge" in start
    authorize = steps["Authorization request: the consent page"]["request"]["url"]["query"]
    assert {"key": "code_challenge_method", "value": "S256"} in authorize
    exchange = [
        p["key"] for p in steps["Exchange the code for tokens"]["request"]["body"]["urlencoded"]
    ]
    assert "code_verifier" in exchange
    assert all(
        s["protocolProfileBehavior"] == {"followRedirects": False}
        for s in code["item"]
        if s["request"]["url"]["path"][0] in ("login", "oauth") and "authorize" in json.dumps(s)
    )
    credentials = folders_by_name[postman.CLIENT_CREDENTIALS]
    fields = {f["key"]: f["value"] for f in credentials["auth"]["oauth2"]}
    assert fields["grant_type"] == "client_credentials"
    assert fields["clientSecret"] == "{{confidential_client_secret}}"
    # Both are skipped, saying why, until their variables are set.
    assert "skipRequest" in scripts(code, "prerequest") and "redirect_uri" in scripts(
        code, "prerequest"
    )
    assert "confidential_client_id" in scripts(credentials, "prerequest")


def test_environment_has_the_four_variables_and_the_domain() -> None:
    env = postman.environment(BASE)
    assert env["name"] == "CloudCX (cx.acme.example)"
    assert env["_postman_variable_scope"] == "environment"
    values = {v["key"]: v for v in env["values"]}
    assert [v["key"] for v in env["values"]][:4] == ["base_url", "email", "password", "client_id"]
    assert values["base_url"]["value"] == BASE
    assert values["password"]["type"] == "secret"
    assert values["confidential_client_secret"]["type"] == "secret"
    assert all(v["value"] == "" for k, v in values.items() if k != "base_url")
    assert not {"access_token", "narrow_access_token"} & set(values), (
        "environment values would hide the tokens the scripts keep in the collection"
    )


@pytest.mark.parametrize(
    ("address", "base_url"),
    [
        ("cx.acme.example", "https://cx.acme.example"),
        ("CX.Acme.Example", "https://cx.acme.example"),
        ("localhost", "http://localhost"),
        ("127.0.0.1:8000", "http://127.0.0.1:8000"),
        ("http://127.0.0.1:8000/", "http://127.0.0.1:8000"),
        ("https://cx.acme.example:8443", "https://cx.acme.example:8443"),
        ("http://cx.acme.example", "http://cx.acme.example"),
    ],
)
def test_base_url_for(address: str, base_url: str) -> None:
    assert postman.base_url_for(address) == base_url


@pytest.mark.parametrize(
    "address",
    [
        pytest.param("", id="empty"),
        pytest.param("ftp://cx.acme.example", id="not-http"),
        pytest.param("https://cx.acme.example/api", id="a-path"),
        pytest.param("https://cx.acme.example?x=1", id="a-query"),
        pytest.param("cx acme", id="not-a-host"),
        pytest.param("https://user@cx.acme.example", id="userinfo"),
        pytest.param("cx.acme.example:99999", id="bad-port"),
    ],
)
def test_base_url_for_refuses(address: str) -> None:
    with pytest.raises(ValueError, match="base URL"):
        postman.base_url_for(address)


async def test_served_collection_is_the_generated_one(
    http: httpx.AsyncClient, app: FastAPI, tenant: object
) -> None:
    response = await http.get(postman.COLLECTION_PATH)
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.headers["cache-control"] == POSTMAN_CACHE == "public, max-age=300"
    assert response.headers["content-disposition"] == (
        'attachment; filename="cloudcx.postman_collection.json"'
    )
    assert response.content == postman.dumps(postman.collection(app.openapi(), "http://localhost"))
    assert {v["key"]: v["value"] for v in response.json()["variable"]}["base_url"] == (
        "http://localhost"
    )
    again = await http.get(
        postman.COLLECTION_PATH, headers={"If-None-Match": response.headers["etag"]}
    )
    assert again.status_code == 304
    assert again.content == b""
    assert again.headers["etag"] == response.headers["etag"]
    by_ip = await http.get("http://127.0.0.1" + postman.COLLECTION_PATH)
    assert by_ip.json()["variable"][0]["value"] == "http://127.0.0.1"
    assert by_ip.headers["etag"] != response.headers["etag"]


async def test_served_environment(http: httpx.AsyncClient, tenant: object) -> None:
    response = await http.get(postman.ENVIRONMENT_PATH)
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.headers["cache-control"] == POSTMAN_CACHE
    assert "cloudcx.postman_environment.json" in response.headers["content-disposition"]
    assert response.json() == postman.environment("http://localhost")
    stale = await http.get(postman.ENVIRONMENT_PATH, headers={"If-None-Match": '"other"'})
    assert stale.status_code == 200


async def test_not_served_at_an_unknown_host(http: httpx.AsyncClient, tenant: object) -> None:
    for path in (postman.COLLECTION_PATH, postman.ENVIRONMENT_PATH):
        response = await http.get("http://nowhere.example" + path)
        assert response.status_code == 404
        assert response.headers["content-type"] == "application/problem+json"


async def test_linked_from_the_docs_and_not_an_operation(openapi: dict[str, Any]) -> None:
    description = openapi["info"]["description"]
    assert f"]({postman.COLLECTION_PATH})" in description
    assert f"]({postman.ENVIRONMENT_PATH})" in description
    assert postman.COLLECTION_PATH not in openapi["paths"]
    assert postman.ENVIRONMENT_PATH not in openapi["paths"]


def test_the_readme_says_import_set_four_variables_send() -> None:
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    section = readme.split("### Run in Postman", 1)[1].split("\n## ", 1)[0]
    assert f"http://127.0.0.1:8000{postman.COLLECTION_PATH}" in section
    assert f"http://127.0.0.1:8000{postman.ENVIRONMENT_PATH}" in section
    four = re.search(r"set four variables: (.*?)\n3\.", section, re.S)
    assert four, "step 2 names the four variables"
    assert re.findall(r"`(\w+)`", four.group(1)) == ["base_url", "email", "password", "client_id"]
    assert "**Send**" in section
    for optional in ("redirect_uri", "confidential_client_id", "confidential_client_secret"):
        assert f"`{optional}`" in section
    assert ".venv/bin/cloudcx postman export --domain cx.acme.example" in section


def test_scripts_get_values_as_literals_and_leave_out_unset_lines() -> None:
    lines = js.render(
        js.STATUS, title='a "quoted" title', status=201, media=None, variable="ticket_id"
    )
    assert lines[0] == 'pm.test("a \\"quoted\\" title", function () {'
    assert "    pm.response.to.have.status(201);" in lines
    assert not any("Content-Type" in line for line in lines)
    assert '    pm.collectionVariables.set("ticket_id", pm.response.json().id);' in lines
    with pytest.raises(KeyError):
        js.render(js.STATUS, title="no status")
