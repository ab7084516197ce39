"""Validating bodies against Microsoft's Graph v1.0 description (the subset shipped here).

``openapi/graph-v1.0-subset.yaml`` is cut from Microsoft's msgraph-metadata (MIT, see
``openapi/LICENSE``); ``openapi/json-batching.schema.yaml`` is the hand-written ``$batch``
envelope and ``openapi/change-notifications.schema.yaml`` the payloads Graph POSTs to a
subscription's notification URL. One departure, where the description and Graph's
documented behaviour disagree: the description marks ``@odata.type`` as required on
every object, but Graph neither demands it in requests nor sends it on most objects
(nested complex values, entities of the declared type), so the checker drops that requirement.
"""

from __future__ import annotations

import functools
import re
from importlib import resources
from typing import Any

from esexchange.sandbox.graph.routes import GraphResponse


class SchemaViolation(AssertionError):
    """A request or response body that does not follow the Graph description."""


@functools.cache
def _spec() -> dict[str, Any]:
    import yaml

    files = resources.files("esexchange.sandbox.graph") / "openapi"
    spec: dict[str, Any] = yaml.safe_load((files / "graph-v1.0-subset.yaml").read_text("utf-8"))
    for extra in ("json-batching.schema.yaml", "change-notifications.schema.yaml"):
        for name, schema in yaml.safe_load((files / extra).read_text("utf-8")).items():
            # their refs point at '#/Name'; they become component refs
            spec["components"]["schemas"][name] = _rebase(schema)
    _drop_odata_type_requirement(spec)
    return spec


def _rebase(node: Any) -> Any:
    if isinstance(node, dict):
        return {
            k: ("#/components/schemas/" + v.removeprefix("#/") if k == "$ref" else _rebase(v))
            for k, v in node.items()
        }
    if isinstance(node, list):
        return [_rebase(v) for v in node]
    return node


def _drop_odata_type_requirement(node: Any) -> None:
    if isinstance(node, dict):
        if isinstance(node.get("required"), list) and "@odata.type" in node["required"]:
            node["required"] = [r for r in node["required"] if r != "@odata.type"]
            if not node["required"]:
                del node["required"]
        for value in node.values():
            _drop_odata_type_requirement(value)
    elif isinstance(node, list):
        for value in node:
            _drop_odata_type_requirement(value)


@functools.cache
def _operations() -> list[tuple[re.Pattern[str], str]]:
    found = []
    for template in _spec()["paths"]:
        pattern = re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(template.lstrip("/")))
        pattern = pattern.replace(re.escape("delta()"), r"delta(?:\(\))?")
        found.append((re.compile(f"^{pattern}$", re.I), template))
    return found


def template_of(path: str) -> str | None:
    """The description's path template that `path` (below /v1.0/) is an instance of."""
    for pattern, template in _operations():
        if pattern.match(path.strip("/")):
            return template
    return None


def check(schema: dict[str, Any], value: Any, what: str) -> None:
    """Raise ``SchemaViolation`` unless `value` follows `schema` (refs into the spec)."""
    errors = sorted(_validator(schema).iter_errors(value), key=lambda e: list(e.path))
    if errors:
        first = errors[0]
        where = "/".join(str(p) for p in first.absolute_path) or "(root)"
        raise SchemaViolation(f"{what}: at {where}: {first.message}")


_VALIDATORS: dict[int, Any] = {}


def _validator(schema: dict[str, Any]) -> Any:
    """One validator per schema object of the (cached) description."""
    from openapi_schema_validator import OAS30Validator

    key = id(schema)
    if key not in _VALIDATORS:
        _VALIDATORS[key] = (schema, OAS30Validator({**schema, "components": _spec()["components"]}))
    return _VALIDATORS[key][1]


@functools.cache
def _component(name: str) -> dict[str, Any]:
    return {"$ref": f"#/components/schemas/{name}"}


def component(name: str) -> dict[str, Any]:
    """A schema that refers to the description's component ``name``."""
    return _component(name)


def validate_exchange(method: str, path: str, body: Any, response: GraphResponse) -> None:
    """Check one request body and its response body against the operation they belong to.

    Raises ``SchemaViolation``; a path the description does not know is itself one.
    """
    if path.strip("/") == "$batch":
        validate_batch(body, response.body)
        return
    template = template_of(path)
    if template is None:
        raise SchemaViolation(f"{method} /{path}: not a path of the Graph description")
    operation = _spec()["paths"][template].get(method.lower())
    if operation is None:
        raise SchemaViolation(f"{method} {template}: not an operation of the description")
    label = f"{method} {template}"
    if body is not None:
        request_schema = operation["requestBody"]["content"]["application/json"]["schema"]
        check(request_schema, body, f"{label} request")
    if response.body is None:
        return
    if response.status >= 400:
        check(component("microsoft.graph.ODataErrors.ODataError"), response.body, label)
        return
    content = operation["responses"]["2XX"].get("content", {})
    if "application/json" in content:
        check(content["application/json"]["schema"], response.body, f"{label} response")


def validate_batch(request: Any, response: Any) -> None:
    """Check a ``$batch`` envelope and its answer against the batching schema."""
    check(component("BatchRequest"), request, "POST /$batch request")
    check(component("BatchResponse"), response, "POST /$batch response")
