"""The quickstart example server, driven over stdio by the official MCP Python SDK client.

Every test runs the server through tests/interop/tap.py and, once done, validates every line the
server sent against the official JSON Schema of the negotiated revision (validate.py).
Logs: tests/interop/out/python/<test>.log
"""

from __future__ import annotations

import base64
import json
import math

import anyio
import pytest

from interop import (
    CLIENT_VERSIONS,
    EXPECTED_TOOLS,
    MCPError,
    PNG_SIGNATURE,
    TapLogs,
    connect,
    dump,
    error_code,
    error_message,
    find_key,
    log_messages,
    mcp_types,
    text_of,
    tool_call_id,
    validate,
    wait_for,
)

pytestmark = pytest.mark.anyio


async def call(conn, name: str, arguments: dict | None = None) -> dict:
    return dump(await conn.session.call_tool(name, arguments))


def assert_tool_error(result: dict, *fragments: str) -> None:
    assert result.get("isError") is True, f"expected a tool execution error (isError: true), got {result}"
    text = text_of(result)
    assert text, f"a tool error must explain itself in a text block: {result}"
    for fragment in fragments:
        assert fragment in text, f"error text {text!r} does not mention {fragment!r}"


# ------------------------------------------------------------------ lifecycle


async def test_initialize(logs: TapLogs) -> None:
    async with connect(logs) as conn:
        init = conn.init
        assert init["serverInfo"]["name"] == "quickstart"
        assert init["serverInfo"]["version"] == "0.1.0"
        assert init["protocolVersion"] in CLIENT_VERSIONS, (
            f"negotiated {init['protocolVersion']!r}, which the client does not support ({CLIENT_VERSIONS})"
        )
        assert "tools" in init["capabilities"], f"tools capability not declared: {init['capabilities']}"
        assert dump(await conn.session.send_ping()) == {}


# ------------------------------------------------------------------ tools/list


async def test_list_tools(logs: TapLogs) -> None:
    async with connect(logs) as conn:
        listed = dump(await conn.session.list_tools())
    tools = {t["name"]: t for t in listed["tools"]}
    assert [t["name"] for t in listed["tools"]] == EXPECTED_TOOLS
    assert "nextCursor" not in listed

    for tool in listed["tools"]:
        assert tool["inputSchema"].get("type") == "object", f"{tool['name']}: inputSchema root must be an object"
        assert not find_key(tool["inputSchema"], "$ref"), f"{tool['name']}: $ref in inputSchema {tool['inputSchema']}"

    add = tools["add"]
    assert add["description"] == "Add two integers."
    schema = add["inputSchema"]
    assert schema["properties"]["a"]["type"] == "integer"
    assert schema["properties"]["b"]["type"] == "integer"
    assert sorted(schema["required"]) == ["a", "b"]
    assert schema.get("additionalProperties") is False
    assert add["outputSchema"]["type"] == "object"
    assert add["outputSchema"]["properties"]["result"]["type"] == "integer"

    convert = tools["convert_temperature"]
    assert convert["description"] == "Convert a temperature between units."
    props = convert["inputSchema"]["properties"]
    assert props["value"]["type"] == "number"
    for unit in ("from", "to"):
        assert props[unit].get("type") == "string", f"{unit}: {props[unit]}"
        assert sorted(props[unit]["enum"]) == ["celsius", "fahrenheit", "kelvin"], f"{unit}: {props[unit]}"
    assert sorted(convert["inputSchema"]["required"]) == ["from", "to", "value"]

    divide = tools["divide"]
    assert divide["description"] == "Divide `a` by `b`."
    assert divide["inputSchema"]["properties"]["a"]["type"] == "number"
    assert divide["inputSchema"]["properties"]["b"]["type"] == "number"

    logo = tools["logo"]
    assert logo["inputSchema"]["type"] == "object"
    assert not logo["inputSchema"].get("properties"), f"logo takes no arguments: {logo['inputSchema']}"
    assert not logo["inputSchema"].get("required")

    sleep = tools["sleep"]
    assert sleep["inputSchema"]["properties"]["ms"]["type"] == "integer"
    assert sleep["inputSchema"]["required"] == ["ms"]

    stats = tools["text_stats"]
    assert stats["description"] == "Count the words, lines and characters of a text."
    props = stats["inputSchema"]["properties"]
    assert props["text"]["type"] == "string"
    assert props["text"].get("description") == "The text to analyse."
    assert props["top"]["type"] == "integer"
    assert props["top"].get("default") == 3
    assert "text" in stats["inputSchema"]["required"]
    assert "top" not in stats["inputSchema"]["required"]
    assert stats["outputSchema"]["type"] == "object"


# ------------------------------------------------------------------ tools/call


async def test_call_add(logs: TapLogs) -> None:
    async with connect(logs) as conn:
        result = await call(conn, "add", {"a": 2, "b": 3})
    assert not result.get("isError"), result
    assert len(result["content"]) == 1, result
    assert result["content"][0]["type"] == "text"
    assert result["content"][0]["text"] == "5"
    assert result["structuredContent"] == {"result": 5}


async def test_call_add_lax_string_numbers(logs: TapLogs) -> None:
    async with connect(logs) as conn:
        result = await call(conn, "add", {"a": "2", "b": "3"})
    assert not result.get("isError"), result
    assert result["structuredContent"] == {"result": 5}


async def test_call_convert_temperature(logs: TapLogs) -> None:
    async with connect(logs) as conn:
        result = await call(conn, "convert_temperature", {"value": 100, "from": "celsius", "to": "fahrenheit"})
    assert not result.get("isError"), result
    assert math.isclose(result["structuredContent"]["result"], 212.0), result


async def test_call_divide(logs: TapLogs) -> None:
    async with connect(logs) as conn:
        result = await call(conn, "divide", {"a": 6, "b": 3})
        by_zero = await call(conn, "divide", {"a": 1, "b": 0})
    assert not result.get("isError"), result
    assert math.isclose(result["structuredContent"]["result"], 2.0), result
    assert_tool_error(by_zero, "division by zero")


async def test_call_logo(logs: TapLogs) -> None:
    async with connect(logs) as conn:
        result = await call(conn, "logo", {})
    assert not result.get("isError"), result
    assert len(result["content"]) == 1, result
    image = result["content"][0]
    assert image["type"] == "image"
    assert image["mimeType"] == "image/png"
    data = base64.b64decode(image["data"], validate=True)
    assert data.startswith(PNG_SIGNATURE), f"not a PNG: {data[:16]!r}"


async def test_call_text_stats(logs: TapLogs) -> None:
    text = "the cat and the hat\nthe end"
    async with connect(logs) as conn:
        result = await call(conn, "text_stats", {"text": text})
        top1 = await call(conn, "text_stats", {"text": text, "top": 1})
    assert not result.get("isError"), result
    stats = result["structuredContent"]
    assert set(stats) >= {"words", "lines", "characters", "top_words"}, stats
    assert stats["words"] == 7, stats
    assert stats["lines"] == 2, stats
    assert stats["characters"] == len(text), stats
    assert isinstance(stats["top_words"], list) and len(stats["top_words"]) == 3, f"default top is 3: {stats}"
    assert "the" in json.dumps(stats["top_words"][0]), f"most frequent word is 'the': {stats['top_words']}"
    assert not top1.get("isError"), top1
    assert len(top1["structuredContent"]["top_words"]) == 1, top1


async def test_slow_call_does_not_block_a_concurrent_one(logs: TapLogs) -> None:
    async with connect(logs) as conn:
        results: dict[str, dict] = {}
        sleep_done = anyio.Event()

        async def run_sleep() -> None:
            results["sleep"] = await call(conn, "sleep", {"ms": 1500})
            sleep_done.set()

        async with anyio.create_task_group() as tg:
            tg.start_soon(run_sleep)
            await wait_for(lambda: tool_call_id(conn.log, "sleep") is not None, "the sleep request to be sent")
            results["add"] = await call(conn, "add", {"a": 20, "b": 22})
            add_finished_while_sleeping = not sleep_done.is_set()
        log = conn.log

    assert results["add"]["structuredContent"] == {"result": 42}
    assert add_finished_while_sleeping, "add completed only after sleep(1500) had returned: calls are serialized"
    assert text_of(results["sleep"]) == "slept 1500 ms", results["sleep"]
    # The same ordering, as the server wrote it.
    sleep_id, add_id = tool_call_id(log, "sleep"), tool_call_id(log, "add")
    order = [m.get("id") for m in log_messages(log, "S2C") if m.get("id") in (sleep_id, add_id)]
    assert order == [add_id, sleep_id], f"server response order {order}, expected add ({add_id}) first"


async def _cancel_sleep(conn, ms: int) -> object:
    """Start sleep(ms), cancel it the way the SDK does, return the JSON-RPC id of the request."""
    scope = anyio.CancelScope()

    async def run() -> None:
        with scope:
            await conn.session.call_tool("sleep", {"ms": ms})

    async with anyio.create_task_group() as tg:
        tg.start_soon(run)
        request_id = await wait_for(
            lambda: tool_call_id(conn.log, "sleep"), "the sleep request to be sent", timeout=10
        )
        scope.cancel()  # the SDK sends notifications/cancelled for an abandoned request

    def cancelled_sent() -> bool:
        return any(
            m.get("method") == "notifications/cancelled" and (m.get("params") or {}).get("requestId") == request_id
            for m in log_messages(conn.log, "C2S")
        )

    try:
        await wait_for(cancelled_sent, "the SDK's notifications/cancelled", timeout=2)
    except AssertionError:  # an SDK that does not send one on abandon (mcp 1.x): send it ourselves
        await conn.session.send_notification(
            mcp_types.CancelledNotification(
                params=mcp_types.CancelledNotificationParams.model_validate(
                    {"requestId": request_id, "reason": "interop test"}
                )
            )
        )
        await wait_for(cancelled_sent, "notifications/cancelled to be sent")
    return request_id


async def test_cancelled_call_leaves_server_responsive(logs: TapLogs) -> None:
    async with connect(logs) as conn:
        started = anyio.current_time()
        await _cancel_sleep(conn, 5000)
        with anyio.fail_after(4):
            assert dump(await conn.session.send_ping()) == {}
            result = await call(conn, "add", {"a": 1, "b": 1})
        assert result["structuredContent"] == {"result": 2}
        assert anyio.current_time() - started < 4.5, "the server was blocked by the cancelled sleep"


async def test_cancelled_call_gets_no_response(logs: TapLogs) -> None:
    """2025-11-25 cancellation: the receiver SHOULD NOT respond to a cancelled request."""
    async with connect(logs) as conn:
        request_id = await _cancel_sleep(conn, 500)
        await anyio.sleep(1.0)  # past the end of the sleep
        assert dump(await conn.session.send_ping()) == {}
        late = [m for m in log_messages(conn.log, "S2C") if "id" in m and m["id"] == request_id]
    assert not late, f"the server responded to the cancelled request {request_id}: {late}"


# ------------------------------------------------------------------ errors


async def test_unknown_tool_is_a_protocol_error(logs: TapLogs) -> None:
    async with connect(logs) as conn:
        with pytest.raises(MCPError) as caught:
            await conn.session.call_tool("no_such_tool", {})
        # still usable afterwards
        assert dump(await conn.session.send_ping()) == {}
    assert error_code(caught.value) == -32602, f"code {error_code(caught.value)}: {error_message(caught.value)}"
    assert "no_such_tool" in error_message(caught.value)


async def test_invalid_argument_type_is_a_tool_error(logs: TapLogs) -> None:
    async with connect(logs) as conn:
        result = await call(conn, "add", {"a": "x", "b": 3})
    assert_tool_error(result, "`a`", "add")


async def test_missing_argument_is_a_tool_error(logs: TapLogs) -> None:
    async with connect(logs) as conn:
        result = await call(conn, "add", {"a": 1})
    assert_tool_error(result, "missing", "`b`")


async def test_unknown_argument_is_a_tool_error(logs: TapLogs) -> None:
    async with connect(logs) as conn:
        result = await call(conn, "add", {"a": 1, "b": 2, "c": 3})
    assert_tool_error(result, "unknown", "`c`")


async def test_bad_enum_value_is_a_tool_error(logs: TapLogs) -> None:
    async with connect(logs) as conn:
        result = await call(conn, "convert_temperature", {"value": 1, "from": "rankine", "to": "kelvin"})
    assert_tool_error(result, "`from`")


# ------------------------------------------------------------------ raw stdio (no SDK)

INIT_ID = 1


def test_parse_error_then_keeps_working(raw_server) -> None:
    server = raw_server()
    server.initialize()
    server.send("{not json")
    server.send({"jsonrpc": "2.0", "id": 2, "method": "ping"})
    error = server.recv()
    assert "error" in error, f"expected a parse error response, got {error}"
    assert error["error"]["code"] == -32700, error
    assert error.get("id", None) is None, f"a parse error response cannot name a request id: {error}"
    assert server.recv() == {"jsonrpc": "2.0", "id": 2, "result": {}}
    server.close_stdin()
    assert server.wait(timeout=5) == 0


def test_parse_error_response_matches_schema(raw_server) -> None:
    """JSON-RPC says id null; the MCP schema (2025-11-25 JSONRPCErrorResponse) only allows
    a string/integer id and makes it optional, so the conformant parse error omits `id`."""
    server = raw_server()
    server.initialize()
    server.send("{not json")
    server.send({"jsonrpc": "2.0", "id": 2, "method": "ping"})
    server.recv()
    server.recv()
    server.close_stdin()
    assert server.wait(timeout=5) == 0
    validate.assert_log_valid(server.log)


def test_request_before_initialize_is_an_error(raw_server) -> None:
    server = raw_server()
    server.send({"jsonrpc": "2.0", "id": 7, "method": "tools/list"})
    response = server.recv()
    assert response.get("id") == 7, response
    assert "result" not in response, f"tools/list before initialize must fail: {response}"
    assert isinstance(response.get("error"), dict), response
    assert isinstance(response["error"].get("code"), int), response
    assert isinstance(response["error"].get("message"), str) and response["error"]["message"], response
    server.close_stdin()
    assert server.wait(timeout=5) == 0
    validate.assert_log_valid(server.log)


def test_notifications_get_no_response(raw_server) -> None:
    server = raw_server()
    server.initialize()
    server.send({"jsonrpc": "2.0", "method": "notifications/cancelled", "params": {"requestId": 999}})
    server.send({"jsonrpc": "2.0", "id": 3, "method": "ping"})
    assert server.recv() == {"jsonrpc": "2.0", "id": 3, "result": {}}
    server.close_stdin()
    assert server.wait(timeout=5) == 0
    validate.assert_log_valid(server.log)


def test_initialize_with_older_supported_revision(raw_server) -> None:
    """2025-06-18 is a revision the server supports: it must answer with the same one, and what
    it sends must then be valid against the 2025-06-18 schema."""
    server = raw_server()
    init = server.initialize("2025-06-18")
    assert init["result"]["protocolVersion"] == "2025-06-18", init
    server.send({"jsonrpc": "2.0", "id": 2, "method": "tools/list"})
    assert server.recv()["id"] == 2
    server.send({"jsonrpc": "2.0", "id": 3, "method": "tools/call", "params": {"name": "add", "arguments": {"a": 2, "b": 3}}})
    result = server.recv()
    assert result["id"] == 3 and result["result"]["structuredContent"] == {"result": 5}, result
    server.close_stdin()
    assert server.wait(timeout=5) == 0
    report = validate.assert_log_valid(server.log)
    assert report.version == "2025-06-18"


def test_initialize_with_unsupported_revision(raw_server) -> None:
    """An unknown requested revision: the server answers with another revision it supports."""
    server = raw_server()
    init = server.initialize("1999-01-01")
    version = init["result"]["protocolVersion"]
    assert version != "1999-01-01" and version in CLIENT_VERSIONS, init
    server.close_stdin()
    assert server.wait(timeout=5) == 0
    validate.assert_log_valid(server.log)


def test_exits_on_stdin_eof_after_session(raw_server) -> None:
    server = raw_server()
    server.initialize()
    server.close_stdin()
    assert server.wait(timeout=5) == 0
    validate.assert_log_valid(server.log)


def test_exits_on_immediate_stdin_eof(raw_server) -> None:
    server = raw_server()
    server.close_stdin()
    assert server.wait(timeout=5) == 0
