"""REST plumbing: endpoints declared with their schemas, parsed bodies and queries, the OpenAPI document."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from aiohttp import web
from pydantic import BaseModel, ConfigDict, ValidationError

from hub.errors import BadRequest, HubError, PayloadTooLarge

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
M = TypeVar("M", bound=BaseModel)
# No request a client sends nests deeper than this.
MAX_JSON_DEPTH = 32


class ApiModel(BaseModel):
    """A JSON body as the OpenAPI document gives it, every field and no other: a request body with a field it does
    not name is refused (a misspelt `lobbby` is not quietly ignored), and a response checked against its contract
    fails on an undocumented field."""

    model_config = ConfigDict(extra="forbid")


@dataclass
class Endpoint:
    method: str
    path: str
    handler: Handler
    summary: str
    tag: str
    body: type[BaseModel] | None = None
    query: type[BaseModel] | None = None
    auth: bool = True
    # Status -> description, beyond the success status and the error statuses every endpoint may return.
    responses: dict[int, str] = field(default_factory=dict)
    # The media type(s) of the success response (several when a parameter chooses the format).
    content_type: str | tuple[str, ...] = "application/json"
    status: int = 200  # the success status (201: something was created)
    # JSON schemas of path parameters that are not any string (a handler that reads a number, say)
    path_schemas: dict[str, dict[str, Any]] = field(default_factory=dict)
    body_required: bool = True  # False: the body may be left out (the handler finds what it needs elsewhere)
    # The success body's shape, for a JSON response (every JSON endpoint has one: it is refused without).
    response: type[BaseModel] | None = None
    # What a 201 created, when it is not at this path plus its body's `id`: (the path it is under, the JSON
    # pointer to its id in the body). The document links the operations on it (`_links`).
    creates: tuple[str, str] | None = None

    def __post_init__(self) -> None:
        if self.response is None and "application/json" in _media_types(self.content_type):
            raise TypeError(f"{self.method} {self.path}: a JSON endpoint documents its body (response=Model)")


class ApiRoutes:
    """The endpoints of one domain, declared next to their handlers: `@routes.get(path, summary=...)`."""

    def __init__(self, tag: str) -> None:
        self.tag = tag
        self.endpoints: list[Endpoint] = []

    def _add(self, method: str, path: str, **options: Any) -> Callable[[Handler], Handler]:
        def decorate(handler: Handler) -> Handler:
            self.endpoints.append(Endpoint(method=method, path=path, handler=handler, tag=self.tag, **options))
            return handler

        return decorate

    def get(self, path: str, **options: Any) -> Callable[[Handler], Handler]:
        return self._add("GET", path, **options)

    def post(self, path: str, **options: Any) -> Callable[[Handler], Handler]:
        return self._add("POST", path, **options)

    def put(self, path: str, **options: Any) -> Callable[[Handler], Handler]:
        return self._add("PUT", path, **options)

    def patch(self, path: str, **options: Any) -> Callable[[Handler], Handler]:
        return self._add("PATCH", path, **options)

    def delete(self, path: str, **options: Any) -> Callable[[Handler], Handler]:
        return self._add("DELETE", path, **options)

    def register(self, app: web.Application, endpoints: dict[Any, Endpoint]) -> None:
        """Add the endpoints to the app's router, and each to `endpoints` under its route (the contract check
        finds a request's endpoint there)."""
        for endpoint in self.endpoints:
            endpoints[app.router.add_route(endpoint.method, endpoint.path, endpoint.handler)] = endpoint


def _field_path(error: Any) -> str:
    return ".".join(str(part) for part in error.get("loc", ())) or "body"


def validation_error(exc: ValidationError, what: str) -> BadRequest:
    """A pydantic error as a 400 naming the first bad field."""
    first = exc.errors()[0]
    where = _field_path(first)
    return BadRequest(f"invalid_{what}", f"{where}: {first.get('msg', 'invalid')}", field=where)


def _depth(data: Any) -> int:
    """How deeply lists and objects nest in parsed JSON (iteratively: no recursion to exhaust)."""
    deepest, stack = 0, [(data, 1)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, dict | list):
            deepest = max(deepest, depth)
            stack.extend((child, depth + 1) for child in (node.values() if isinstance(node, dict) else node))
    return deepest


def parse_json(raw: bytes | str) -> Any:
    """JSON from a client, nested at most MAX_JSON_DEPTH deep; BadRequest `malformed_json` otherwise."""
    try:
        data = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise BadRequest("malformed_json", f"not valid JSON: {exc}") from None
    except RecursionError:
        data = None  # nested far deeper than the limit
    else:
        if _depth(data) <= MAX_JSON_DEPTH:
            return data
    raise BadRequest("malformed_json", f"JSON nested deeper than {MAX_JSON_DEPTH} levels")


async def read_body(request: web.Request, model: type[M]) -> M:
    """The request's JSON body as a model; 400 naming the field, 413 when too large, 415 when not JSON. Values are
    read as the JSON types the document gives them (pydantic's strict JSON mode): a 0 or "false" is no boolean,
    "5" no number (a 0 once deactivated a person), while times and enums are read from their strings."""
    if request.content_type != "application/json":
        raise HubError("unsupported_media_type", "send the body as application/json", 415)
    try:
        raw = await request.read()
    except web.HTTPRequestEntityTooLarge:
        raise PayloadTooLarge("payload_too_large", "the request body is too large") from None
    if not raw:
        raise BadRequest("malformed_json", "a JSON body is required")
    parse_json(raw)  # well-formed and not nested too deep, before pydantic reads it
    try:
        return model.model_validate_json(raw, strict=True)
    except ValidationError as exc:
        raise validation_error(exc, "body") from None


def read_query(request: web.Request, model: type[M]) -> M:
    """The query string as a model; 400 naming the parameter. A model whose `EMPTY_MEANS_ANY` is true (filters a
    page's form sends, blank fields included) reads an empty value as no value, as its document says."""
    blank = getattr(model, "EMPTY_MEANS_ANY", False)
    data: dict[str, Any] = {}
    for key in request.query:
        values = [v for v in request.query.getall(key) if not (blank and v == "")]
        if values:
            data[key] = values if len(values) > 1 else values[0]
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise validation_error(exc, "parameter") from None


def json_response(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    """A JSON response that keeps Chinese text readable."""
    return web.json_response(
        data, status=status, headers=headers, dumps=lambda obj: json.dumps(obj, ensure_ascii=False, default=str)
    )


REF_TEMPLATE = "#/components/schemas/{model}"
SUCCESS = {200: "OK", 201: "Created", 202: "Accepted", 204: "No Content"}
ERROR_SCHEMA = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message"],
            "properties": {"code": {"type": "string"}, "message": {"type": "string"}, "field": {"type": "string"}},
        }
    },
}


def openapi_document(endpoints: list[Endpoint], *, version: str, server_url: str) -> dict[str, Any]:
    """The OpenAPI 3.1 document of the given endpoints."""
    paths: dict[str, dict[str, Any]] = {}
    schemas: dict[str, Any] = {"Error": ERROR_SCHEMA}
    for ep in endpoints:
        operation: dict[str, Any] = {
            "summary": ep.summary,
            "tags": [ep.tag],
            "operationId": _operation_id(ep),
            "responses": {
                str(ep.status): {"description": SUCCESS.get(ep.status, "OK"),
                                 "content": {t: {"schema": _body_schema(schemas, ep, t)}
                                             for t in _media_types(ep.content_type)}},
                "default": {
                    "description": "An error",
                    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
                },
            },
        }
        links = _links(ep, endpoints)
        if links:
            operation["responses"][str(ep.status)]["links"] = links
        for status, description in ep.responses.items():
            operation["responses"][str(status)] = {"description": description}
            if status < 300:  # another success (206 Partial Content): the same media types
                operation["responses"][str(status)]["content"] = operation["responses"][str(ep.status)]["content"]
        if ep.auth:
            operation["security"] = [{"bearer": []}, {"cookie": []}]
        parameters = [
            {"name": name, "in": "path", "required": True,
             "schema": ep.path_schemas.get(name) or ({"type": "integer"} if pattern == r"\d+" else {"type": "string"})}
            for name, pattern in _path_params(ep.path)
        ]
        if ep.query is not None:
            schema = ep.query.model_json_schema(ref_template=REF_TEMPLATE)
            _add_components(schemas, schema.pop("$defs", {}))  # an enum a parameter names is a component
            # a model that reads empty values as "any" (read_query) says so for each parameter
            blank = getattr(ep.query, "EMPTY_MEANS_ANY", False)
            for name, prop in schema.get("properties", {}).items():
                parameters.append(
                    {"name": name, "in": "query", "required": name in schema.get("required", []),
                     "schema": {"anyOf": [prop, {"const": ""}]} if blank else prop}
                )
        if parameters:
            operation["parameters"] = parameters
        if ep.body is not None:
            schema = ep.body.model_json_schema(ref_template=REF_TEMPLATE)
            _add_components(schemas, {**schema.pop("$defs", {}), ep.body.__name__: schema})
            operation["requestBody"] = {
                "required": ep.body_required,
                "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{ep.body.__name__}"}}},
            }
        paths.setdefault(_openapi_path(ep.path), {})[ep.method.lower()] = operation
    return {
        "openapi": "3.1.0",
        "info": {"title": "CityHub API", "version": version},
        "servers": [{"url": server_url}],
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"},
                "cookie": {"type": "apiKey", "in": "cookie", "name": "cityhub_session"},
            },
        },
    }


def _operation_id(ep: Endpoint) -> str:
    return f"{ep.method.lower()}_{ep.handler.__name__}"


def _links(creator: Endpoint, endpoints: list[Endpoint]) -> dict[str, Any]:
    """OpenAPI links from an operation that creates something (201, an `id` in its body) to the operations on what
    it created: those under its path plus the new id (`/meetings` -> `/meetings/{meeting_id}/...`), the path's
    own parameters passed on. A client, and Schemathesis's stateful phase, follow them with a real id."""
    if creator.status != 201 or creator.response is None:
        return {}
    if creator.creates is None and "id" not in creator.response.model_fields:
        return {}
    base, pointer = creator.creates or (creator.path, "/id")
    under, own = _openapi_path(base) + "/", [name for name, _ in _path_params(creator.path)]
    links: dict[str, Any] = {}
    for ep in endpoints:
        path = _openapi_path(ep.path)
        if not path.startswith(under + "{"):
            continue
        created = path[len(under):].split("/")[0][1:-1]  # the next segment names the new id
        wanted = {name for name, _ in _path_params(ep.path)}
        if not wanted <= {*own, created}:
            continue  # it needs an id the creation does not give (a version of the new document)
        parameters = {name: f"$request.path.{name}" for name in own if name in wanted}
        links[_operation_id(ep)] = {"operationId": _operation_id(ep),
                                    "parameters": {**parameters, created: f"$response.body#{pointer}"}}
    return links


def _body_schema(schemas: dict[str, Any], ep: Endpoint, media_type: str) -> dict[str, Any]:
    """The schema of a success body in one media type: the response model's for JSON (its models added to the
    components), a string for text, bytes otherwise."""
    if media_type == "application/json" and ep.response is not None:
        # as the contract check reads a body: a field with a default may be left out
        schema = ep.response.model_json_schema(ref_template=REF_TEMPLATE)
        _add_components(schemas, {**schema.pop("$defs", {}), ep.response.__name__: schema})
        return {"$ref": REF_TEMPLATE.format(model=ep.response.__name__)}
    if media_type.startswith("text/"):
        return {"type": "string"}
    return {"type": "string"} if "*" in media_type else {"type": "string", "contentMediaType": media_type}


def check_response(ep: Endpoint, response: web.StreamResponse) -> str | None:
    """What is wrong with a response against the endpoint's documented contract; None when nothing. An error
    (4xx, 5xx) is the middleware's one shape and not checked here; a streamed body (a file) is checked for its
    status and media type only."""
    if response.status >= 400:
        return None
    if response.status != ep.status and response.status not in ep.responses:
        return f"status {response.status} is not documented (documented: {ep.status}, {sorted(ep.responses)})"
    if not any(_matches(response.content_type, documented) for documented in _media_types(ep.content_type)):
        return f"media type {response.content_type} is not documented ({', '.join(_media_types(ep.content_type))})"
    if response.content_type != "application/json" or not isinstance(response, web.Response):
        return None
    assert ep.response is not None  # a JSON endpoint is not declared without one
    try:
        ep.response.model_validate_json(response.body if isinstance(response.body, bytes) else b"", strict=True)
    except ValidationError as exc:
        problems = [f"{_field_path(e)}: {e.get('msg', 'invalid')}" for e in exc.errors()[:5]]
        return f"the body is not a {ep.response.__name__}: " + "; ".join(problems)
    return None


def _matches(media_type: str, documented: str) -> bool:
    """A media type against a documented one, which may be a range (`*/*`, `image/*`: a file as uploaded)."""
    kind, _, subtype = documented.partition("/")
    return documented == media_type or kind == "*" or subtype == "*" and media_type.startswith(kind + "/")



def _add_components(schemas: dict[str, Any], found: dict[str, Any]) -> None:
    """Add schemas under their models' names: two different models of one name would make every reference to
    that name mean one of them (the document's readers of a document once pointed at the notifications' enum)."""
    for name, schema in found.items():
        if schemas.setdefault(name, schema) != schema:
            raise ValueError(f"two different schemas are named {name!r} in the OpenAPI document: rename one model")


def _path_params(path: str) -> list[tuple[str, str]]:
    """The path's parameters: (name, the pattern aiohttp matches it with, "" for any segment)."""
    return [tuple(part[1:-1].split(":", 1)) if ":" in part else (part[1:-1], "")  # type: ignore[misc]
            for part in path.split("/") if part.startswith("{")]


def _media_types(content_type: str | tuple[str, ...]) -> tuple[str, ...]:
    return (content_type,) if isinstance(content_type, str) else content_type


def _openapi_path(path: str) -> str:
    return "/".join(
        "{" + part[1:-1].split(":")[0] + "}" if part.startswith("{") else part for part in path.split("/")
    )
