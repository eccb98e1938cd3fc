"""Amazon's SP-API contract on disk: where it is, and the request rules read from it.

The models (Swagger 2.0, ``<sp-api>/models/*.json``) and the feed schemas
(``<sp-api>/schemas/``) are looked up in ``$SP_SANDBOX_MODELS``, else ``<repo>/../shared/sp-api``
(the repository being the directory holding this package). Where they are absent the sandbox
runs without request validation and logs a warning once.

``RequestRules.check(model, operation_id, request)`` validates one request against its
operation: query parameters (required, enum, array maxItems/minItems, integer bounds, string
lengths, ``date-time``) and the JSON body (the operation's body schema). It returns the first
violation as a message naming the parameter, or None.
"""

import json
import logging
import os
import threading
from functools import cache
from pathlib import Path

from jsonschema import Draft4Validator, Draft7Validator, FormatChecker

from .values import parse_time

_logger = logging.getLogger(__name__)
ENV = "SP_SANDBOX_MODELS"
_warned = set()
_warn_lock = threading.Lock()


def default_root():
    override = os.environ.get(ENV)
    if override:
        return Path(override)
    return Path(__file__).resolve().parent.parent.parent / "shared" / "sp-api"


def _warn_once(message):
    with _warn_lock:
        if message in _warned:
            return
        _warned.add(message)
    _logger.warning(message)


def _is_date_time(value):
    if not isinstance(value, str) or "T" not in value.upper():
        return False
    try:
        parse_time(value)
    except ValueError:
        return False
    return True


FORMATS = FormatChecker(formats=())
FORMATS.checks("date-time")(_is_date_time)


@cache
def _load(path):
    with open(path, encoding="utf-8") as handle:
        return json.load(handle)


def _describe(error):
    where = ".".join(str(p) for p in error.absolute_path)
    return f"{where}: {_message_of(error)}" if where else _message_of(error)


class RequestRules:
    """The request rules of the models under ``root`` (None: the default location)."""

    def __init__(self, root=None):
        self.root = Path(root) if root else default_root()
        self.available = (self.root / "models").is_dir()
        if not self.available:
            _warn_once(
                f"sp_sandbox: Amazon's models not found in {self.root}; "
                f"requests are NOT validated (set {ENV})."
            )
        self._operations = {}
        self._lock = threading.Lock()

    def _operation(self, model, operation_id):
        key = (model, operation_id)
        with self._lock:
            if key not in self._operations:
                self._operations[key] = self._find(model, operation_id)
            return self._operations[key]

    def _find(self, model, operation_id):
        path = self.root / "models" / f"{model}.json"
        if not path.is_file():
            _warn_once(f"sp_sandbox: model {path} missing; its requests are not validated.")
            return None
        document = _load(str(path))
        for item in document.get("paths", {}).values():
            shared = item.get("parameters", [])
            for operation in item.values():
                if isinstance(operation, dict) and operation.get("operationId") == operation_id:
                    params = [
                        _resolve(document, p) for p in shared + operation.get("parameters", [])
                    ]
                    return document, params
        _warn_once(f"sp_sandbox: {operation_id} not in {path}; its requests are not validated.")
        return None

    def check(self, model, operation_id, request):
        """The first violation of the operation's request rules (a message), or None."""
        if not self.available:
            return None
        found = self._operation(model, operation_id)
        if found is None:
            return None
        document, params = found
        for param in params:
            where = param.get("in")
            if where == "query":
                problem = _check_query(param, request.args.getlist(param["name"]))
            elif where == "body":
                problem = _check_body(document, param, request)
            else:  # path values matched the route; headers are the authorization's business
                problem = None
            if problem:
                return problem
        return None


def _resolve(document, node):
    ref = node.get("$ref") if isinstance(node, dict) else None
    if not ref:
        return node
    target = document
    for part in ref.lstrip("#/").split("/"):
        target = target[part]
    return target


def _check_query(param, raw_values):
    name = param["name"]
    if not raw_values or all(v == "" for v in raw_values):
        return f"Missing required parameter {name}." if param.get("required") else None
    if param.get("type") == "array":
        values = [v.strip() for raw in raw_values for v in raw.split(",") if v.strip()]
        if param.get("maxItems") is not None and len(values) > param["maxItems"]:
            return f"Invalid {name}: at most {param['maxItems']} values are allowed."
        if param.get("minItems") is not None and len(values) < param["minItems"]:
            return f"Invalid {name}: at least {param['minItems']} values are required."
        item_rules = param.get("items") or {}
        for value in values:
            problem = _check_scalar(name, item_rules, value)
            if problem:
                return problem
        return None
    if len(raw_values) > 1:
        return f"Invalid {name}: a single value is expected."
    return _check_scalar(name, param, raw_values[0])


def _check_scalar(name, rules, value):
    enum = rules.get("enum")
    if enum is not None and value not in [str(e) for e in enum]:
        return f"Invalid {name}: {value!r} is not one of {', '.join(map(str, enum))}."
    kind = rules.get("type")
    if kind in ("integer", "number"):
        try:
            number = int(value) if kind == "integer" else float(value)
        except ValueError:
            return f"Invalid {name}: {value!r} is not a valid {kind}."
        if rules.get("minimum") is not None and number < rules["minimum"]:
            return f"Invalid {name}: the minimum is {rules['minimum']}."
        if rules.get("maximum") is not None and number > rules["maximum"]:
            return f"Invalid {name}: the maximum is {rules['maximum']}."
        return None
    if kind == "boolean" and value.lower() not in ("true", "false"):
        return f"Invalid {name}: {value!r} is not true or false."
    if rules.get("format") == "date-time" and not _is_date_time(value):
        return f"Invalid {name}: {value!r} is not an ISO 8601 date-time."
    if rules.get("maxLength") is not None and len(value) > rules["maxLength"]:
        return f"Invalid {name}: at most {rules['maxLength']} characters."
    if rules.get("minLength") is not None and len(value) < rules["minLength"]:
        return f"Invalid {name}: at least {rules['minLength']} characters."
    return None


def _check_body(document, param, request):
    raw = request.get_data(cache=True)
    if not raw:
        return "Missing required request body." if param.get("required") else None
    try:
        body = json.loads(raw)
    except (UnicodeDecodeError, ValueError):
        return "The request body is not valid JSON."
    schema = {**param.get("schema", {}), "definitions": document.get("definitions", {})}
    validator = Draft4Validator(schema, format_checker=FORMATS)
    error = next(iter(sorted(validator.iter_errors(body), key=lambda e: e.path)), None)
    return f"Invalid request body: {_describe(error)}" if error else None


def feed_document_problems(root, payload, max_messages):
    """Violations of Amazon's JSON listings feed schema (+ message schema) and of the
    ``max_messages`` cap; [] when valid, None when the schemas are absent.

    The feed schema is applied to the document with its first message only (plus its own
    ``maxItems`` on the real count), each message to the message schema: the same rules, each
    message checked once (10,000 messages take seconds with jsonschema)."""
    schemas = Path(root) / "schemas"
    feed_path = schemas / "listings-feed-schema-v2.json"
    message_path = schemas / "listings-feed-message-schema-v2.json"
    if not feed_path.is_file() or not message_path.is_file():
        _warn_once(f"sp_sandbox: {schemas} incomplete; feed documents are not schema-checked.")
        return None
    feed_schema = _load(str(feed_path))
    messages = payload.get("messages") if isinstance(payload, dict) else None
    sample = payload
    if isinstance(messages, list):
        sample = {**payload, "messages": messages[:1]}
    problems = [
        _describe(e)
        for e in Draft7Validator(feed_schema, format_checker=FORMATS).iter_errors(sample)
    ]
    if not isinstance(messages, list):
        return problems
    limit = feed_schema["properties"]["messages"].get("maxItems")
    for cap in sorted({c for c in (limit, max_messages) if c}):
        if len(messages) > cap:
            problems.append(f"messages: {len(messages)} messages; a feed holds at most {cap}.")
            break
    checker = Draft7Validator(_load(str(message_path)), format_checker=FORMATS)
    for index, message in enumerate(messages):
        for error in checker.iter_errors(message):
            inner = ".".join(str(p) for p in error.absolute_path)
            where = f"messages.{index}" + (f".{inner}" if inner else "")
            problems.append(f"{where}: {_message_of(error)}")
    return list(dict.fromkeys(problems))


def _message_of(error):
    """A oneOf/anyOf failure says which rules of the closest branch failed."""
    if error.context:
        reasons = dict.fromkeys(e.message for e in error.context if "was expected" not in e.message)
        if reasons:
            return "; ".join(reasons)
    return error.message
