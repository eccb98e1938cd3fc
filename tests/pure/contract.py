"""Validate SP-API response bodies against Amazon's Swagger 2.0 models (../shared/sp-api).

``validate_response(model, operation_id, status, body)`` returns a list of problems (empty
when the body matches ``responses.<status>.schema`` of that operation, ``#/definitions`` refs
resolved in the model document). jsonschema's Draft 4 validator + a referencing registry.
"""

import json
from functools import cache
from pathlib import Path

from jsonschema import Draft4Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT4

MODELS_DIR = Path(__file__).resolve().parents[2].parent / "shared" / "sp-api" / "models"
SKIP_REASON = f"Amazon's SP-API models are absent ({MODELS_DIR})"


def models_available():
    return (MODELS_DIR / "orders_2026-01-01.json").is_file()


@cache
def _model(model):
    name = model if model.endswith(".json") else model + ".json"
    document = json.loads((MODELS_DIR / name).read_text(encoding="utf-8"))
    uri = "urn:sp-api-model:" + name
    registry = Registry().with_resource(uri, Resource(contents=document, specification=DRAFT4))
    return document, uri, registry


def _pointer(*parts):
    return "/" + "/".join(str(p).replace("~", "~0").replace("/", "~1") for p in parts)


@cache
def _validator(model, operation_id, status):
    """(validator or None when the response has no body schema) for this response."""
    document, uri, registry = _model(model)
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            if not isinstance(operation, dict) or operation.get("operationId") != operation_id:
                continue
            responses = operation.get("responses", {})
            code = str(status) if str(status) in responses else "default"
            if code not in responses:
                raise LookupError(f"{model}.{operation_id} documents no {status} response")
            if "schema" not in responses[code]:
                return None
            ref = {"$ref": uri + "#" + _pointer("paths", path, method, "responses", code, "schema")}
            return Draft4Validator(
                ref, registry=registry, format_checker=Draft4Validator.FORMAT_CHECKER
            )
    raise LookupError(f"no operation {operation_id} in {model}")


def validate_response(model, operation_id, status, body):
    """Problems of ``body`` (bytes, str or parsed JSON) for that documented response."""
    try:
        validator = _validator(model, operation_id, int(status))
    except LookupError as exc:
        return [str(exc)]
    if isinstance(body, bytes | str):
        if not body:
            return [] if validator is None else ["empty body where a JSON body is documented"]
        try:
            body = json.loads(body)
        except ValueError as exc:
            return [f"body is not JSON: {exc}"]
    if validator is None:
        return [] if body in (None, "", b"") else ["body present where none is documented"]
    return [
        f"{'/'.join(map(str, e.absolute_path)) or '<root>'}: {e.message}"
        for e in validator.iter_errors(body)
    ]


def assert_valid_response(model, operation_id, status, body):
    problems = validate_response(model, operation_id, status, body)
    assert not problems, f"{model}.{operation_id} {status}: " + "; ".join(problems[:10])


def validate_exchanges(exchanges):
    """Check recorded sandbox exchanges (sp_sandbox.Exchange); returns failure strings."""
    failures, seen = [], set()
    for exchange in exchanges:
        if exchange.faulted:
            continue
        key = (exchange.model, exchange.operation_id, exchange.status, exchange.body)
        if key in seen:
            continue
        seen.add(key)
        problems = validate_response(
            exchange.model, exchange.operation_id, exchange.status, exchange.body
        )
        if problems:
            failures.append(
                f"{exchange.model}.{exchange.operation_id} {exchange.status}: "
                + "; ".join(problems[:5])
            )
    return failures
