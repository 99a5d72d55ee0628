"""The quickstart example served over streamable HTTP (`--transport http`), driven by the
official MCP Python SDK client (`streamable_http_client`), in each way the server can answer:

  sse             sessions; JSON answers, SSE when a request says something before its result
  json            sessions; `--json-response`: always JSON
  stateless       `--stateless`: no sessions, every POST stands alone
  stateless-json  `--stateless --json-response`

Every HTTP exchange goes through a recording httpx transport (interop.TappingTransport), and
every message the server sent, as a JSON body or SSE data, is validated against the official
JSON Schema of the negotiated revision (validate.py), as for stdio.
Logs: tests/interop/out/python/<test>.log (and the server's stderr beside it).
"""

from __future__ import annotations

import base64
import json

import anyio
import httpx2
import pytest

from interop import (
    EXPECTED_TOOLS,
    MCPError,
    PNG_SIGNATURE,
    HttpQuickstart,
    TapLogs,
    connect_http,
    dump,
    error_code,
    text_of,
)

pytestmark = pytest.mark.anyio

MODES = {
    "sse": [],
    "json": ["--json-response"],
    "stateless": ["--stateless"],
    "stateless-json": ["--stateless", "--json-response"],
}


@pytest.fixture(params=list(MODES))
def mode(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
def server(logs: TapLogs, mode: str):
    """The quickstart over HTTP in `mode`; at teardown, SIGTERM must stop it cleanly."""
    srv = HttpQuickstart(logs.server_stderr(), *MODES[mode])
    try:
        yield srv
        status = srv.stop()
        assert status == 0, f"the server exited with {status} after SIGTERM:\n{srv.stderr()}"
    finally:
        srv.kill()


def streams(mode: str) -> bool:
    return "json" not in mode


def stateful(mode: str) -> bool:
    return not mode.startswith("stateless")


async def test_initialize_and_list_tools(logs: TapLogs, server: HttpQuickstart, mode: str) -> None:
    async with connect_http(logs, server) as conn:
        assert conn.init["serverInfo"]["name"] == "quickstart"
        assert conn.init["protocolVersion"] == "2025-11-25"
        assert dump(await conn.session.send_ping()) == {}
        listed = dump(await conn.session.list_tools())
        assert [t["name"] for t in listed["tools"]] == EXPECTED_TOOLS
    exchanges = conn.tap.exchanges
    init = exchanges[0]
    assert (init["method"], init["status"]) == ("POST", 200)
    assert init["content_type"] == "application/json"
    if stateful(mode):
        session = init["session"]
        assert session, "a session id comes with the initialize result"
        later = [e for e in exchanges[1:] if e["method"] in ("POST", "GET")]
        assert later and all(e["request_session"] == session for e in later), later
        assert all(e["protocol_version"] == "2025-11-25" for e in later), later
        # The SDK opens the GET stream after `initialized` and ends the session with DELETE.
        assert any(e["method"] == "GET" and e["status"] == 200 for e in exchanges), exchanges
        assert exchanges[-1]["method"] == "DELETE" and exchanges[-1]["status"] == 204, exchanges
    else:
        # Without a session id the SDK opens no GET stream and ends nothing.
        assert all(e["session"] is None for e in exchanges)
        assert all(e["method"] == "POST" for e in exchanges), exchanges
    notification = next(e for e in exchanges if e["method"] == "POST" and e["status"] == 202)
    assert notification["content_type"] == ""


async def test_call_tools(logs: TapLogs, server: HttpQuickstart) -> None:
    async with connect_http(logs, server) as conn:
        await conn.session.list_tools()
        add = dump(await conn.session.call_tool("add", {"a": 2, "b": 3}))
        assert add["structuredContent"] == {"result": 5}
        assert add["content"] == [{"type": "text", "text": "5"}]
        lax = dump(await conn.session.call_tool("add", {"a": "2", "b": "3"}))
        assert lax["structuredContent"] == {"result": 5}
        divided = dump(await conn.session.call_tool("divide", {"a": 1, "b": 0}))
        assert divided.get("isError") is True and "division by zero" in text_of(divided)
        logo = dump(await conn.session.call_tool("logo", {}))
        image = logo["content"][0]
        assert image["type"] == "image" and image["mimeType"] == "image/png"
        assert base64.b64decode(image["data"]).startswith(PNG_SIGNATURE)
        stats = dump(await conn.session.call_tool("text_stats", {"text": "a b a\nc", "top": 1}))
        assert stats["structuredContent"]["words"] == 4
        assert stats["structuredContent"]["top_words"] == ["a"]
        bad = dump(await conn.session.call_tool("add", {"a": "x", "b": 1}))
        assert bad.get("isError") is True and "`a`" in text_of(bad)
        with pytest.raises(MCPError) as err:
            await conn.session.call_tool("no_such_tool", {})
        assert error_code(err.value) == -32602


async def test_progress_streams_unless_json_only(logs: TapLogs, server: HttpQuickstart, mode: str) -> None:
    seen: list[tuple[float, float | None]] = []

    async def on_progress(progress: float, total: float | None, message: str | None) -> None:
        seen.append((progress, total))

    async with connect_http(logs, server) as conn:
        result = dump(await conn.session.call_tool("sleep", {"ms": 200}, progress_callback=on_progress))
        assert text_of(result) == "slept 200 ms"
        quiet = dump(await conn.session.call_tool("sleep", {"ms": 20}))
        assert text_of(quiet) == "slept 20 ms"
    calls = [e for e in conn.tap.exchanges if e["tool"] == "sleep"]
    assert [e["status"] for e in calls] == [200, 200], calls
    if streams(mode):
        assert seen == [(50.0, 200.0), (100.0, 200.0), (150.0, 200.0), (200.0, 200.0)], seen
        assert calls[0]["content_type"] == "text/event-stream", calls
    else:
        # One JSON body cannot carry what comes before the result.
        assert seen == []
        assert calls[0]["content_type"] == "application/json", calls
    # Nothing said before the result: plain JSON in every mode.
    assert calls[1]["content_type"] == "application/json", calls


async def test_a_slow_call_does_not_block_a_concurrent_one(logs: TapLogs, server: HttpQuickstart) -> None:
    async with connect_http(logs, server) as conn:
        order: list[str] = []

        async def slow() -> None:
            result = dump(await conn.session.call_tool("sleep", {"ms": 800}))
            assert text_of(result) == "slept 800 ms"
            order.append("sleep")

        async def fast() -> None:
            await anyio.sleep(0.1)
            result = dump(await conn.session.call_tool("add", {"a": 20, "b": 22}))
            assert result["structuredContent"] == {"result": 42}
            order.append("add")

        async with anyio.create_task_group() as tg:
            tg.start_soon(slow)
            tg.start_soon(fast)
        assert order == ["add", "sleep"]


@pytest.mark.parametrize("mode", ["sse"])
async def test_a_stream_closed_early_is_resumed_by_the_sdk(logs: TapLogs, mode: str) -> None:
    """SEP-1699 polling: the server closes SSE connections after 150 ms; the SDK reconnects
    with GET and Last-Event-ID after the `retry` it was given, and gets the rest."""
    srv = HttpQuickstart(logs.server_stderr(), "--sse-close-after", "150", "--sse-retry", "50")
    try:
        seen: list[float] = []

        async def on_progress(progress: float, total: float | None, message: str | None) -> None:
            seen.append(progress)

        async with connect_http(logs, srv) as conn:
            result = dump(await conn.session.call_tool("sleep", {"ms": 800}, progress_callback=on_progress))
            assert text_of(result) == "slept 800 ms"
        assert seen == [200.0, 400.0, 600.0, 800.0], seen
        resumed = [e for e in conn.tap.exchanges if e["method"] == "GET" and e["last_event_id"]]
        assert resumed and all(e["status"] == 200 for e in resumed), conn.tap.exchanges
        assert srv.stop() == 0
    finally:
        srv.kill()


async def test_raw_requests_get_the_transport_status_codes(server: HttpQuickstart, mode: str) -> None:
    headers = {"content-type": "application/json", "accept": "application/json, text/event-stream"}
    async with httpx2.AsyncClient(timeout=10) as http:
        bad = await http.post(server.url, content=b"{nope", headers=headers)
        assert bad.status_code == 400
        assert bad.json()["error"]["code"] == -32700
        wrong_type = await http.post(server.url, content=b"{}", headers={**headers, "content-type": "text/plain"})
        assert wrong_type.status_code == 415
        not_acceptable = await http.post(server.url, content=b"{}", headers={**headers, "accept": "text/html"})
        assert not_acceptable.status_code == 406
        rebinding = await http.post(
            server.url, content=b"{}", headers={**headers, "origin": "http://evil.example.com"}
        )
        assert rebinding.status_code == 403
        listing = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "tools/list"})
        no_session = await http.post(server.url, content=listing, headers=headers)
        if stateful(mode):
            assert no_session.status_code == 400
            assert no_session.json()["id"] == 1
            unknown = await http.post(server.url, content=listing, headers={**headers, "mcp-session-id": "gone"})
            assert unknown.status_code == 404
        else:
            assert no_session.status_code == 200
            assert [t["name"] for t in no_session.json()["result"]["tools"]] == EXPECTED_TOOLS
        health = await http.get(server.url.rsplit("/", 1)[0] + "/healthz")
        assert health.status_code == 200
