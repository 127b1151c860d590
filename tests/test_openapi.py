"""The OpenAPI document stays true: exactly the router's /api/v1 routes, bodies that work, auth that is enforced.

Generic over the app's router, so it keeps holding as every domain adds routes.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from openapi_spec_validator import validate

from hub import keys
from hub.api import ApiModel, ApiRoutes, json_response
from hub.errors import BadRequest
from hub.middleware import contract_middleware, core_middleware
from tests.conftest import Hub

ADMIN = "bigdata-04"
# Path parameters that need a real id for the endpoint to get past the look-up; anything else gets "x".
PATH_EXAMPLES = {"person_id": "p-xie"}


def router_routes(app: web.Application) -> set[tuple[str, str]]:
    routes = set()
    for route in app.router.routes():
        resource = route.resource
        if resource is None or route.method == "HEAD":
            continue
        path = re.sub(r"\{([^}:]+)(:[^}]*)?\}", r"{\1}", resource.canonical)
        if path.startswith("/api/v1/"):
            routes.add((route.method.lower(), path))
    return routes


def resolve(schema: dict[str, Any], document: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[1]
        schema = document["components"]["schemas"][name]
    return schema


def example(schema: dict[str, Any], document: dict[str, Any]) -> Any:
    """A valid value for a JSON schema: its own example when it gives one, else the smallest that fits."""
    schema = resolve(schema, document)
    if "examples" in schema:
        return schema["examples"][0]
    if "default" in schema:
        return schema["default"]
    if "enum" in schema:
        return schema["enum"][0]
    for key in ("anyOf", "oneOf"):
        if key in schema:
            options = [s for s in schema[key] if s.get("type") != "null"]
            return example(options[0], document)
    kind = schema.get("type")
    if kind == "object":
        properties = schema.get("properties", {})
        return {name: example(properties[name], document) for name in schema.get("required", properties)}
    if kind == "array":
        count = schema.get("minItems", 0)
        return [example(schema.get("items", {}), document) for _ in range(count)]
    if kind == "string":
        return "x" * max(1, schema.get("minLength", 1))
    if kind == "integer":
        return int(schema.get("minimum", 1))
    if kind == "number":
        return float(schema.get("minimum", 1))
    if kind == "boolean":
        return True
    return None


async def test_document_lists_exactly_the_api_routes(hub: Hub) -> None:
    response = await hub.client.get("/api/v1/openapi.json")
    assert response.status == 200
    document = await response.json()
    assert document["openapi"].startswith("3.")
    documented = {(method, path) for path, operations in document["paths"].items() for method in operations}
    routes = router_routes(hub.app)
    assert documented - routes == set(), "documented but not routed"
    assert routes - documented == set(), "routed but not documented"
    ids = [op["operationId"] for ops in document["paths"].values() for op in ops.values()]
    assert len(ids) == len(set(ids))
    for path, operations in document["paths"].items():
        declared = set(re.findall(r"\{([^}]+)\}", path))
        for method, operation in operations.items():
            params = {p["name"] for p in operation.get("parameters", []) if p["in"] == "path"}
            assert params == declared, (method, path)
            assert operation["summary"] and operation["responses"]["default"]


async def test_every_body_schema_accepts_its_example_and_the_endpoint_answers(hub: Hub) -> None:
    document = await (await hub.client.get("/api/v1/openapi.json")).json()
    endpoints = {(ep.method.lower(), ep.path): ep for routes in hub.app[keys.API_ROUTES] for ep in routes.endpoints}
    checked = created = 0
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            if "requestBody" not in operation:
                continue
            schema = operation["requestBody"]["content"]["application/json"]["schema"]
            body = example(schema, document)
            model = next(ep.body for (m, p), ep in endpoints.items() if m == method and p == path)
            assert model is not None
            model.model_validate(body)
            url = re.sub(r"\{([^}]+)\}", lambda m: PATH_EXAMPLES.get(m.group(1), "x"), path)
            response = await hub.client.request(method.upper(), url, json=body, headers=hub.auth(ADMIN))
            answer = await response.json()
            assert response.status < 500, (method, path, answer)
            if response.status >= 400:
                assert answer["error"]["code"] not in {"invalid_body", "malformed_json"}, (method, path, answer)
            else:  # the success status is the documented one (201 where something was created)
                assert str(response.status) in operation["responses"], (method, path, response.status)
                created += response.status == 201
            checked += 1
    assert checked >= 4 and created >= 1


async def test_the_document_is_valid_openapi(hub: Hub) -> None:
    """openapi-spec-validator, a tool nobody here wrote, reads the document without a complaint: every
    reference resolves (a query parameter's enum is a component, as a body's are)."""
    document = await (await hub.client.get("/api/v1/openapi.json")).json()
    validate(document)
    status = next(p for p in document["paths"]["/api/v1/supervision/items"]["get"]["parameters"]
                  if p["name"] == "status")
    assert "#/components/schemas/" in str(status["schema"])
    created = document["paths"]["/api/v1/meetings"]["post"]["responses"]
    assert "201" in created and "200" not in created
    export = document["paths"]["/api/v1/docs/{doc_id}/export"]["get"]["responses"]["200"]["content"]
    assert {"text/markdown", "application/pdf"} <= set(export)
    read = document["paths"]["/api/v1/notifications/{notification_id}/read"]["post"]["parameters"]
    assert read[0]["schema"]["type"] == "integer"


async def test_what_an_operation_creates_is_linked_to_the_operations_on_it(hub: Hub) -> None:
    """OpenAPI links: a client (and Schemathesis's stateful phase) goes from a 201 to what it created with its
    real id; every link names an operation that exists and each of that operation's path parameters."""
    document = await (await hub.client.get("/api/v1/openapi.json")).json()
    operations = {op["operationId"]: (path, op) for path, item in document["paths"].items() for op in item.values()}
    links = {(path, name): link for path, item in document["paths"].items() for op in item.values()
             for response in op["responses"].values() for name, link in response.get("links", {}).items()}
    for (path, name), link in links.items():
        target, operation = operations[link["operationId"]]
        wanted = {p["name"] for p in operation.get("parameters", []) if p["in"] == "path"}
        assert set(link["parameters"]) == wanted, (path, name, link)
    meeting = document["paths"]["/api/v1/meetings"]["post"]["responses"]["201"]["links"]
    assert meeting["get_get_meeting"]["parameters"] == {"meeting_id": "$response.body#/id"}
    assert {"patch_update_meeting", "get_meeting_attendance"} <= set(meeting), sorted(meeting)
    version = document["paths"]["/api/v1/docs/{doc_id}/versions"]["post"]["responses"]["201"]["links"]
    assert version["get_get_version"]["parameters"] == {"doc_id": "$request.path.doc_id",
                                                        "version_id": "$response.body#/id"}
    decision = document["paths"]["/api/v1/meetings/{meeting_id}/decisions"]["post"]["responses"]["201"]["links"]
    assert any(link["parameters"] == {"item_id": "$response.body#/item/id"} for link in decision.values())


async def test_every_body_refuses_a_field_it_does_not_name(hub: Hub) -> None:
    document = await (await hub.client.get("/api/v1/openapi.json")).json()
    for path, operations in document["paths"].items():
        for operation in operations.values():
            if "requestBody" in operation:
                schema = resolve(operation["requestBody"]["content"]["application/json"]["schema"], document)
                assert schema.get("additionalProperties") is False, path


async def test_every_body_endpoint_refuses_a_wrong_body_with_400(hub: Hub) -> None:
    document = await (await hub.client.get("/api/v1/openapi.json")).json()
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            if "requestBody" not in operation:
                continue
            url = re.sub(r"\{([^}]+)\}", lambda m: PATH_EXAMPLES.get(m.group(1), "x"), path)
            for bad in (b"{broken", b"[1, 2]"):
                response = await hub.client.request(
                    method.upper(), url, data=bad, headers={**hub.auth(ADMIN), "Content-Type": "application/json"}
                )
                answer = await response.json()
                assert response.status == 400, (method, path, bad, answer)
                assert answer["error"]["code"] in {"malformed_json", "invalid_body"}


async def test_a_body_is_read_as_the_json_types_it_documents(hub: Hub) -> None:
    """A 0 or "false" is no boolean and "5" no number (a 0 once deactivated a person), a field the schema does not
    name no field; times and enums are read from their strings as documented."""
    body = {"title": "周例会", "chair": "p-xie", "starts_at": "2030-03-01T09:00:00+08:00",
            "ends_at": "2030-03-01T10:00:00+08:00"}
    for field, vague in (("lobby", 0), ("lobby", "false"), ("locked", "true"), ("invited_units", "bigdata"),
                         ("lobbby", False)):  # nor is a misspelt field ignored
        response = await hub.client.post("/api/v1/meetings", json={**body, field: vague}, headers=hub.auth(ADMIN))
        answer = await response.json()
        assert response.status == 400 and answer["error"]["field"] == field, (field, vague, answer)
    response = await hub.client.post("/api/v1/meetings", json={**body, "lobby": False}, headers=hub.auth(ADMIN))
    assert response.status == 201 and (await response.json())["lobby"] is False


async def test_secured_endpoints_refuse_anonymous_callers(hub: Hub) -> None:
    document = await (await hub.client.get("/api/v1/openapi.json")).json()
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            url = re.sub(r"\{([^}]+)\}", lambda m: PATH_EXAMPLES.get(m.group(1), "x"), path)
            response = await hub.client.request(method.upper(), url, json={})
            if operation.get("security"):
                assert response.status == 401, (method, path)
                assert (await response.json())["error"]["code"] == "authentication_required"
            else:
                assert response.status != 401 or "token" in str(await response.json()), (method, path)


async def test_query_parameters_are_documented(hub: Hub) -> None:
    document = await (await hub.client.get("/api/v1/openapi.json")).json()
    people = document["paths"]["/api/v1/directory/people"]["get"]
    names = {p["name"] for p in people["parameters"] if p["in"] == "query"}
    assert {"q", "limit", "offset", "org_unit"} <= names
    limit = next(p for p in people["parameters"] if p["name"] == "limit")
    assert limit["schema"]["maximum"] == 200 and limit["schema"]["minimum"] == 1


def test_two_models_of_one_name_are_refused() -> None:
    # the documents' Subject (a person or a unit) once shared its name with the notifications' Subject enum, and
    # the readers of a document were documented as that enum
    from pydantic import BaseModel

    from hub.api import Endpoint, openapi_document

    def make(field: str) -> type[BaseModel]:
        return type("Subject", (BaseModel,), {"__annotations__": {field: str}})

    async def handler(request: web.Request) -> web.Response:
        return web.Response()

    endpoints = [Endpoint("POST", f"/api/v1/{n}", handler, "x", "t", body=make(n), content_type="text/plain")
                 for n in ("a", "b")]
    with pytest.raises(ValueError, match="'Subject'"):
        openapi_document(endpoints, version="1", server_url="http://x")


async def test_every_success_response_documents_its_body(hub: Hub) -> None:
    """Each operation's success status has a schema for each media type: a JSON body its model, a file a string."""
    document = await (await hub.client.get("/api/v1/openapi.json")).json()
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            successes = {s: r for s, r in operation["responses"].items() if s.startswith("2")}
            assert successes, (method, path)
            for response in successes.values():
                for media_type, content in response["content"].items():
                    schema = resolve(content["schema"], document)
                    if media_type == "application/json":
                        assert schema["type"] == "object" and schema["properties"], (method, path)
                        assert schema.get("additionalProperties") is False, (method, path)
                    else:
                        assert schema["type"] == "string", (method, path, media_type)


def test_a_json_endpoint_is_not_declared_without_its_response_model() -> None:
    routes = ApiRoutes("test")
    with pytest.raises(TypeError, match="documents its body"):
        routes.get("/api/v1/undocumented", summary="no model")(shown)
    routes.get("/api/v1/a-file", summary="a file", content_type="application/pdf")(shown)  # bytes need none


class Shown(ApiModel):
    name: str
    count: int


contract = ApiRoutes("test")


@contract.get("/api/v1/shown/{how}", summary="a body as asked", response=Shown, responses={206: "part"},
              content_type=("application/json", "image/*"))
async def shown(request: web.Request) -> web.Response:
    bodies: dict[str, Any] = {
        "right": {"name": "a", "count": 1},
        "extra": {"name": "a", "count": 1, "secret": "x"},
        "wrong-type": {"name": "a", "count": "1"},
        "missing": {"name": "a"},
    }
    how = request.match_info["how"]
    if how == "plain":
        return web.Response(text="a", content_type="text/plain")
    if how == "png":
        return web.Response(body=b"\x89PNG", content_type="image/png")
    if how == "created":
        return json_response(bodies["right"], status=201)
    if how == "part":
        return json_response(bodies["right"], status=206)
    if how == "refused":
        raise BadRequest("refused", "no")
    return json_response(bodies[how])


@pytest.mark.parametrize(("how", "status", "problem"), [
    ("right", 200, None),
    ("part", 206, None),  # another documented success
    ("refused", 400, None),  # errors are the middleware's one shape, not the endpoint's
    ("extra", 500, "secret: Extra inputs are not permitted"),
    ("wrong-type", 500, "count: Input should be a valid integer"),
    ("missing", 500, "count: Field required"),
    ("created", 500, "status 201 is not documented"),
    ("plain", 500, "media type text/plain is not documented"),
    ("png", 200, None),  # in the documented range image/*
])
async def test_a_response_that_breaks_its_contract_is_answered_500(
    how: str, status: int, problem: str | None, caplog: pytest.LogCaptureFixture
) -> None:
    app = web.Application(middlewares=[core_middleware, contract_middleware])
    app[keys.ENDPOINTS] = {}
    contract.register(app, app[keys.ENDPOINTS])
    async with TestClient(TestServer(app)) as client:
        response = await client.get(f"/api/v1/shown/{how}")
        assert response.status == status
        if problem is None:
            assert "broke its contract" not in caplog.text
        else:
            answer = await response.json()
            assert answer["error"]["code"] == "response_contract"
            assert problem in answer["error"]["message"]
            assert f"GET /api/v1/shown/{how} broke its contract" in caplog.text
