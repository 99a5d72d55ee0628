#!/usr/bin/env python3
"""Validate every message an MCP server sent, as recorded by tap.py, against the official schema.

Usage:
    python validate.py [--schemas DIR] [--version REV] LOG [LOG...]

Exit status: 0 when every server line is valid, 1 when any is not (a report names
each offending line and why), 2 on usage or I/O errors.

Also importable (the Python interop tests use `validate_log` / `assert_log_valid`).

What is checked, for each line the server wrote to stdout (`S2C` lines of the log):
  * it is one JSON value (stdout must carry nothing but MCP messages), an object
    (batches were removed in 2025-06-18), valid against `JSONRPCMessage`;
  * a result response answers a request the client sent *earlier* in the log, at
    most once, and its `result` is valid against the specific result type of that
    request's method (`initialize` -> `InitializeResult`, `tools/call` ->
    `CallToolResult`, ...);
  * an error response answers a known client request (or has no id, e.g. parse
    errors);
  * a server-initiated request is a `ServerRequest`, a notification a
    `ServerNotification`;
  * each tool's `inputSchema`/`outputSchema` from `tools/list` is itself a valid
    JSON Schema of its dialect (2020-12 unless it names another `$schema`), and a
    successful `tools/call` of a tool with an `outputSchema` carries a
    `structuredContent` valid against it (spec: MUST).
  * `"format": "byte"` values (image/audio data) are valid base64.

The revision is the `protocolVersion` the server answered `initialize` with; without an
initialize exchange the client's per-request `_meta` protocol version, else 2025-11-25.
The schema files are looked up in `$MCP_SCHEMAS_DIR`, else `<repo root>/../shared/schemas`.
Warnings (not failures): a response sent for a request the client had cancelled
(SHOULD NOT), client requests left unanswered.
"""

from __future__ import annotations

import argparse
import base64
import binascii
import json
import os
import sys
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Iterable

import jsonschema
from jsonschema import Draft202012Validator
from jsonschema.exceptions import best_match
from jsonschema.validators import validator_for

REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_VERSION = "2025-11-25"
MODERN_VERSION_KEY = "io.modelcontextprotocol/protocolVersion"

# Client request method -> the schema definition of the server's result.
RESULT_TYPES: dict[str, str] = {
    "initialize": "InitializeResult",
    "ping": "EmptyResult",
    "tools/list": "ListToolsResult",
    "tools/call": "CallToolResult",
    "resources/list": "ListResourcesResult",
    "resources/templates/list": "ListResourceTemplatesResult",
    "resources/read": "ReadResourceResult",
    "resources/subscribe": "EmptyResult",
    "resources/unsubscribe": "EmptyResult",
    "prompts/list": "ListPromptsResult",
    "prompts/get": "GetPromptResult",
    "completion/complete": "CompleteResult",
    "logging/setLevel": "EmptyResult",
    "tasks/get": "GetTaskResult",
    "tasks/result": "GetTaskPayloadResult",
    "tasks/cancel": "CancelTaskResult",
    "tasks/list": "ListTasksResult",
    "server/discover": "DiscoverResult",
}


def schemas_dir() -> Path:
    env = os.environ.get("MCP_SCHEMAS_DIR")
    return Path(env) if env else REPO_ROOT.parent / "shared" / "schemas"


def _format_checker() -> jsonschema.FormatChecker:
    checker = jsonschema.FormatChecker()

    @checker.checks("byte", raises=(binascii.Error, ValueError))
    def _is_base64(value: object) -> bool:
        if not isinstance(value, str):
            return True
        base64.b64decode(value, validate=True)
        return True

    return checker


class Schema:
    """One revision's schema.json, with a compiled validator per definition."""

    def __init__(self, version: str, directory: Path | None = None) -> None:
        self.version = version
        path = (directory or schemas_dir()) / version / "schema.json"
        if not path.is_file():
            raise FileNotFoundError(
                f"no official schema for protocol revision {version!r}: {path} does not exist"
            )
        self.path = path
        self.root: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
        if "$defs" in self.root:
            self.defs_key = "$defs"
        elif "definitions" in self.root:
            self.defs_key = "definitions"
        else:
            raise ValueError(f"{path}: neither $defs nor definitions")
        self.defs: dict[str, Any] = self.root[self.defs_key]
        self.validator_cls = validator_for(self.root, default=Draft202012Validator)
        self._checker = _format_checker()
        self._validators: dict[str, Any] = {}

    def has(self, name: str) -> bool:
        return name in self.defs

    def validator(self, name: str) -> Any:
        if name not in self._validators:
            if name not in self.defs:
                raise KeyError(f"{self.path}: no definition {name!r}")
            schema = dict(self.root)
            schema["$ref"] = f"#/{self.defs_key}/{name}"
            self._validators[name] = self.validator_cls(schema, format_checker=self._checker)
        return self._validators[name]

    def errors(self, name: str, instance: Any) -> list[str]:
        """Human-readable reasons why `instance` is not a valid `name` (empty if valid)."""
        validator = self.validator(name)
        errors = list(validator.iter_errors(instance))
        if not errors:
            return []
        return [_explain(best_match(errors))]


@lru_cache(maxsize=None)
def load_schema(version: str, directory: str | None = None) -> Schema:
    return Schema(version, Path(directory) if directory else None)


_DISCRIMINATORS = ("type", "method", "jsonrpc")


def _explain(error: jsonschema.ValidationError, depth: int = 0) -> str:
    """Describe a failure; for anyOf/oneOf, descend into the branch the instance was meant for.

    A branch is ruled out when the instance fails its `const` on a discriminating property
    (`type` of a content block, `method` of a message, ...); among the rest, the branch with
    the fewest errors is taken to be the intended one.
    """
    if error.validator in ("anyOf", "oneOf") and error.context and depth < 8:
        branches: dict[Any, list[jsonschema.ValidationError]] = {}
        for sub in error.context:
            branches.setdefault(sub.relative_schema_path[0], []).append(sub)
        plausible = {
            index: errs
            for index, errs in branches.items()
            if not any(
                e.validator in ("const", "enum") and len(e.relative_path) == 1 and e.relative_path[0] in _DISCRIMINATORS
                for e in errs
            )
        }
        if plausible:
            index, errs = min(plausible.items(), key=lambda item: len(item[1]))
            inner = "; ".join(_explain(e, depth + 1) for e in errs[:3])
            schema_ref = ""
            option = error.schema.get(error.validator, [])[index] if isinstance(error.schema, dict) else None
            if isinstance(option, dict) and isinstance(option.get("$ref"), str):
                schema_ref = f" (as {option['$ref'].rsplit('/', 1)[-1]})"
            return f"{error.json_path}: not valid{schema_ref}: {inner}"
    return _describe(error)


def _describe(error: jsonschema.ValidationError) -> str:
    where = error.json_path
    msg = error.message
    if len(msg) > 300:
        msg = msg[:300] + "..."
    return f"{where}: {msg}"


@dataclass
class Entry:
    direction: str  # "S2C" or "C2S"
    lineno: int  # line number in the log file
    raw: str


@dataclass
class Report:
    log: str
    version: str | None = None
    server_messages: int = 0
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors

    def render(self) -> str:
        head = (
            f"{self.log}: {self.server_messages} server message(s), revision {self.version or '?'}: "
            + ("OK" if self.ok else f"{len(self.errors)} error(s)")
        )
        lines = [head]
        lines += [f"  ERROR {e}" for e in self.errors]
        lines += [f"  warning {w}" for w in self.warnings]
        return "\n".join(lines)


def read_log(path: str | os.PathLike[str]) -> list[Entry]:
    entries = []
    with open(path, "rb") as f:
        for lineno, line in enumerate(f, start=1):
            line = line.rstrip(b"\n")
            if line.startswith(b"#") or not line:
                continue
            direction, sep, payload = line.partition(b"\t")
            if not sep or direction not in (b"S2C", b"C2S"):
                continue
            try:
                text = payload.decode("utf-8")
            except UnicodeDecodeError:
                text = payload.decode("utf-8", errors="replace")
                if direction == b"S2C":
                    text = "\x00INVALID-UTF8\x00" + text
            entries.append(Entry(direction.decode(), lineno, text))
    return entries


def server_messages(path: str | os.PathLike[str]) -> list[Any]:
    """The parsed JSON messages the server sent (unparsable lines are skipped)."""
    out = []
    for e in read_log(path):
        if e.direction == "S2C":
            try:
                out.append(json.loads(e.raw))
            except ValueError:
                pass
    return out


def client_messages(path: str | os.PathLike[str]) -> list[Any]:
    out = []
    for e in read_log(path):
        if e.direction == "C2S":
            try:
                out.append(json.loads(e.raw))
            except ValueError:
                pass
    return out


def _short(raw: str, limit: int = 400) -> str:
    return raw if len(raw) <= limit else raw[:limit] + f"... ({len(raw)} chars)"


def _id_key(value: Any) -> str:
    # 1 and "1" are different JSON-RPC ids.
    return json.dumps(value, sort_keys=True)


def _negotiated_version(entries: list[Entry]) -> str | None:
    init_ids = set()
    modern = None
    for e in entries:
        try:
            msg = json.loads(e.raw)
        except ValueError:
            continue
        if not isinstance(msg, dict):
            continue
        if e.direction == "C2S":
            if msg.get("method") == "initialize" and "id" in msg:
                init_ids.add(_id_key(msg["id"]))
            meta = (msg.get("params") or {}).get("_meta") if isinstance(msg.get("params"), dict) else None
            if modern is None and isinstance(meta, dict) and isinstance(meta.get(MODERN_VERSION_KEY), str):
                modern = meta[MODERN_VERSION_KEY]
        elif "id" in msg and _id_key(msg.get("id")) in init_ids and isinstance(msg.get("result"), dict):
            version = msg["result"].get("protocolVersion")
            if isinstance(version, str):
                return version
    return modern


def _envelope_def(schema: Schema, msg: dict[str, Any]) -> str | None:
    if "method" in msg:
        names = ["JSONRPCRequest"] if "id" in msg else ["JSONRPCNotification"]
    elif "error" in msg:
        names = ["JSONRPCErrorResponse", "JSONRPCError"]
    elif "result" in msg:
        names = ["JSONRPCResultResponse", "JSONRPCResponse"]
    else:
        return None
    return next((n for n in names if schema.has(n)), None)


def _check_json_schema(schema: Any) -> str | None:
    """None if `schema` is a valid JSON Schema of its dialect (default 2020-12), else why not."""
    if not isinstance(schema, dict):
        return f"not a JSON object: {schema!r}"
    try:
        cls = validator_for(schema, default=Draft202012Validator)
    except Exception as err:  # unknown $schema
        return f"unknown dialect: {err}"
    try:
        cls.check_schema(schema)
    except jsonschema.SchemaError as err:
        return f"invalid {cls.__name__} schema: {_explain(err)}"
    return None


def validate_entries(
    entries: list[Entry],
    *,
    log_name: str = "<log>",
    version: str | None = None,
    directory: str | None = None,
) -> Report:
    report = Report(log=log_name)
    version = version or _negotiated_version(entries) or DEFAULT_VERSION
    report.version = version
    try:
        schema = load_schema(version, directory)
    except (FileNotFoundError, ValueError) as err:
        report.errors.append(str(err))
        return report

    pending: dict[str, dict[str, Any]] = {}  # id -> client request
    answered: set[str] = set()
    cancelled: set[str] = set()
    output_schemas: dict[str, Any] = {}  # tool name -> outputSchema (or None)

    for e in entries:
        where = f"{log_name}:{e.lineno}"
        if e.direction == "C2S":
            try:
                msg = json.loads(e.raw)
            except ValueError:
                continue  # deliberately broken client input (parse-error tests)
            if isinstance(msg, dict) and isinstance(msg.get("method"), str):
                if "id" in msg:
                    pending[_id_key(msg["id"])] = msg
                elif msg["method"] == "notifications/cancelled":
                    params = msg.get("params") or {}
                    if isinstance(params, dict) and "requestId" in params:
                        cancelled.add(_id_key(params["requestId"]))
            continue

        report.server_messages += 1
        if e.raw.startswith("\x00INVALID-UTF8\x00"):
            report.errors.append(f"{where}: server line is not valid UTF-8: {_short(e.raw[14:])}")
            continue
        try:
            msg = json.loads(e.raw)
        except ValueError as err:
            report.errors.append(
                f"{where}: server wrote a line that is not JSON ({err}); stdout must carry only "
                f"MCP messages: {_short(e.raw)}"
            )
            continue
        if isinstance(msg, list):
            report.errors.append(f"{where}: JSON-RPC batch (removed in 2025-06-18): {_short(e.raw)}")
            continue
        problems = [f"JSONRPCMessage: {r}" for r in schema.errors("JSONRPCMessage", msg)]
        if problems and isinstance(msg, dict):
            # Explain against the envelope the message's shape asks for.
            shape = _envelope_def(schema, msg)
            if shape:
                problems = [f"{shape}: {r}" for r in schema.errors(shape, msg)] or problems
        context = ""
        if isinstance(msg, dict):
            if "method" in msg and "id" in msg:
                context = f"server request {msg.get('method')!r}"
                if schema.has("ServerRequest"):
                    problems += [f"ServerRequest: {r}" for r in schema.errors("ServerRequest", msg)]
            elif "method" in msg:
                context = f"server notification {msg.get('method')!r}"
                if schema.has("ServerNotification"):
                    problems += [f"ServerNotification: {r}" for r in schema.errors("ServerNotification", msg)]
            elif "result" in msg or "error" in msg:
                has_id = "id" in msg and msg["id"] is not None
                key = _id_key(msg.get("id"))
                request = pending.get(key) if has_id else None
                kind = "result" if "result" in msg else "error"
                if not has_id:
                    context = f"{kind} response without id"
                    if kind == "result":
                        problems.append("a result response must carry the id of the request it answers")
                elif request is None:
                    context = f"{kind} response id={msg['id']!r}"
                    problems.append(f"answers id {msg['id']!r}, which the client never sent (before this line)")
                else:
                    method = request.get("method")
                    params = request.get("params") if isinstance(request.get("params"), dict) else {}
                    tool = params.get("name") if method == "tools/call" else None
                    context = f"{kind} response to {method!r}" + (f" ({tool!r})" if tool else "") + f" id={msg['id']!r}"
                    if key in answered:
                        problems.append("second response to the same request id")
                    answered.add(key)
                    if key in cancelled:
                        report.warnings.append(f"{where}: {context}: responded after the client cancelled it (SHOULD NOT)")
                    if kind == "result" and isinstance(msg.get("result"), dict):
                        result = msg["result"]
                        rtype = RESULT_TYPES.get(method)
                        if method == "tools/call" and "task" in params and schema.has("CreateTaskResult"):
                            rtype = "CreateTaskResult"
                        if result.get("resultType") == "input_required" and schema.has("InputRequiredResult"):
                            rtype = "InputRequiredResult"
                        if rtype and schema.has(rtype):
                            problems += [f"{rtype}: {r}" for r in schema.errors(rtype, result)]
                        if method == "tools/list":
                            for tool_def in result.get("tools") or []:
                                if not isinstance(tool_def, dict):
                                    continue
                                name = tool_def.get("name")
                                for key_name in ("inputSchema", "outputSchema"):
                                    if key_name in tool_def:
                                        why = _check_json_schema(tool_def[key_name])
                                        if why:
                                            problems.append(f"tool {name!r} {key_name}: {why}")
                                output_schemas[name] = tool_def.get("outputSchema")
                        elif method == "tools/call" and rtype == "CallToolResult":
                            out_schema = output_schemas.get(tool)
                            if out_schema is not None and not result.get("isError"):
                                if "structuredContent" not in result:
                                    problems.append(
                                        f"tool {tool!r} declares an outputSchema but the result has no structuredContent"
                                    )
                                elif _check_json_schema(out_schema) is None:
                                    cls = validator_for(out_schema, default=Draft202012Validator)
                                    errs = list(cls(out_schema).iter_errors(result["structuredContent"]))
                                    if errs:
                                        problems.append(
                                            f"structuredContent does not match the tool's outputSchema: "
                                            f"{_explain(best_match(errs))}"
                                        )
        for p in problems:
            report.errors.append(f"{where}: {context or 'message'}: {p}\n      line: {_short(e.raw)}")

    unanswered = [k for k in pending if k not in answered and k not in cancelled]
    if unanswered:
        report.warnings.append(
            "client requests without a response: "
            + ", ".join(f"{pending[k].get('method')} id={k}" for k in unanswered)
        )
    return report


def validate_log(
    path: str | os.PathLike[str], *, version: str | None = None, directory: str | None = None
) -> Report:
    return validate_entries(read_log(path), log_name=str(path), version=version, directory=directory)


def assert_log_valid(path: str | os.PathLike[str], **kwargs: Any) -> Report:
    """Raise AssertionError with the full report if any server message is invalid."""
    report = validate_log(path, **kwargs)
    if not report.ok:
        raise AssertionError("server sent invalid MCP messages:\n" + report.render())
    if report.server_messages == 0:
        raise AssertionError(f"{path}: the server sent no messages at all")
    return report


def main(argv: Iterable[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("logs", nargs="+", metavar="LOG", help="tap.py log file(s)")
    parser.add_argument("--schemas", help="schemas directory (default: $MCP_SCHEMAS_DIR or ../shared/schemas)")
    parser.add_argument("--version", help="protocol revision to validate against (default: negotiated)")
    parser.add_argument("--quiet", action="store_true", help="print only failing logs")
    args = parser.parse_args(list(argv))
    status = 0
    for log in args.logs:
        try:
            report = validate_log(log, version=args.version, directory=args.schemas)
        except OSError as err:
            print(f"{log}: cannot read: {err}", file=sys.stderr)
            return 2
        if not report.ok:
            status = 1
        if not report.ok or not args.quiet:
            print(report.render())
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
