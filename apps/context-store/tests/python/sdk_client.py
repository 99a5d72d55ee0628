#!/usr/bin/env python3
"""The official MCP Python SDK client against the context store (tests/sdk.rs and
tests/replicas.rs start the servers and run this). Each check prints `ok NAME`; the exit
status is 1 if one failed.

    python sdk_client.py stdio BINARY DATA_DIR
    python sdk_client.py http URL TOKEN
    python sdk_client.py replicas URL_A URL_B URL_BALANCER TOKEN
"""

from __future__ import annotations

import json
import sys
import traceback
from contextlib import asynccontextmanager
from typing import Any, AsyncIterator

import anyio
import httpx2
from mcp import ClientSession, StdioServerParameters, stdio_client, types
from mcp.client.streamable_http import streamable_http_client


def structured(result: types.CallToolResult) -> dict[str, Any]:
    assert not result.is_error, result
    return result.structured_content


def text(result: types.CallToolResult) -> str:
    return "".join(c.text for c in result.content if isinstance(c, types.TextContent))


async def confirm(context, params: types.ElicitRequestParams) -> types.ElicitResult:
    assert "cannot be undone" in params.message, params
    return types.ElicitResult(action="accept", content={"delete": True})


@asynccontextmanager
async def over_stdio(binary: str, data_dir: str, **options: Any) -> AsyncIterator[ClientSession]:
    params = StdioServerParameters(command=binary, args=["--data-dir", data_dir])
    async with stdio_client(params) as (read, write):
        async with ClientSession(read, write, read_timeout_seconds=30, **options) as session:
            await session.initialize()
            yield session


@asynccontextmanager
async def over_http(url: str, token: str, **options: Any) -> AsyncIterator[ClientSession]:
    client = httpx2.AsyncClient(headers={"Authorization": f"Bearer {token}"}, timeout=httpx2.Timeout(30, read=300))
    async with client:
        async with streamable_http_client(url, http_client=client) as (read, write):
            async with ClientSession(read, write, read_timeout_seconds=30, **options) as session:
                await session.initialize()
                yield session


async def tour(session: ClientSession) -> None:
    """Every kind of request, as a client application makes them."""
    tools = {t.name for t in (await session.list_tools()).tools}
    assert {"create_context", "append_messages", "get_context", "update_context", "delete_context",
            "search_messages", "trim_context", "list_contexts"} <= tools, tools
    info = structured(await session.call_tool("create_context", {"title": "SDK tour", "metadata": {"from": "python"}}))
    cid = info["id"]
    appended = structured(await session.call_tool("append_messages", {"context_id": cid, "messages": [
        {"role": "user", "content": "What is the capital of Portugal?"},
        {"role": "assistant", "content": "Lisbon."},
    ]}))
    assert (appended["first_seq"], appended["last_seq"]) == (1, 2), appended
    view = structured(await session.call_tool("get_context", {"context_id": cid}))
    assert [m["content"] for m in view["messages"]] == ["What is the capital of Portugal?", "Lisbon."]
    hits = structured(await session.call_tool("search_messages", {"query": "capital portugal"}))["hits"]
    assert [h["context_id"] for h in hits] == [cid], hits
    bad = await session.call_tool("append_messages", {"context_id": cid, "messages": [{"role": "robot", "content": "x"}]})
    assert bad.is_error and "unknown variant `robot`" in text(bad), bad
    read = await session.read_resource(f"context://{cid}/messages?since=1")
    msgs = json.loads(read.contents[0].text)
    assert [m["seq"] for m in msgs] == [2], msgs
    templates = {t.uri_template for t in (await session.list_resource_templates()).resource_templates}
    assert {"context://{id}", "context://{id}/messages{?since,limit}"} <= templates, templates
    prompt = await session.get_prompt("continue_conversation", {"context_id": cid})
    assert [m.role for m in prompt.messages] == ["user", "assistant"], prompt
    trimmed = structured(await session.call_tool("trim_context", {"context_id": cid, "max_tokens": 8}))
    assert trimmed["removed"] == 1 and trimmed["kept"] == 1, trimmed
    # Deleting asks the user through elicitation.
    deleted = structured(await session.call_tool("delete_context", {"context_id": cid}))
    assert deleted == {"context_id": cid, "deleted": True}, deleted
    gone = await session.call_tool("get_context", {"context_id": cid})
    assert gone.is_error and "not found" in text(gone), gone


async def run(checks: list[tuple[str, Any]]) -> int:
    failed = 0
    for name, check in checks:
        try:
            with anyio.fail_after(60):
                await check()
            print(f"ok {name}", flush=True)
        except BaseException:  # noqa: BLE001
            failed += 1
            print(f"FAILED {name}", flush=True)
            traceback.print_exc()
    return 1 if failed else 0


async def stdio_checks(binary: str, data_dir: str) -> int:
    async def tour_stdio() -> None:
        async with over_stdio(binary, data_dir, elicitation_callback=confirm) as s:
            await tour(s)

    async def persists_across_restarts() -> None:
        async with over_stdio(binary, data_dir) as s:
            cid = structured(await s.call_tool("create_context", {"title": "kept"}))["id"]
            await s.call_tool("append_messages", {"context_id": cid, "messages": [{"role": "user", "content": "remember me"}]})
        async with over_stdio(binary, data_dir) as s:
            view = structured(await s.call_tool("get_context", {"context_id": cid}))
            assert view["messages"][0]["content"] == "remember me", view

    return await run([("tour over stdio", tour_stdio), ("data persists across restarts", persists_across_restarts)])


async def http_checks(url: str, token: str) -> int:
    async def tour_http() -> None:
        async with over_http(url, token, elicitation_callback=confirm) as s:
            await tour(s)

    return await run([("tour over streamable HTTP", tour_http)])


async def replica_checks(url_a: str, url_b: str, url_lb: str, token: str) -> int:
    async def each_sees_the_others_updates() -> None:
        heard: dict[str, anyio.Event] = {"a": anyio.Event(), "b": anyio.Event()}
        target: dict[str, str] = {}

        def listener(who: str):
            async def on_message(message) -> None:
                if isinstance(message, types.ResourceUpdatedNotification) and str(message.params.uri) == target.get(who):
                    heard[who].set()
            return on_message

        async with over_http(url_a, token, message_handler=listener("a")) as a, \
                over_http(url_b, token, message_handler=listener("b")) as b:
            cid = structured(await a.call_tool("create_context", {"title": "shared"}))["id"]
            uri = f"context://{cid}"
            target["a"] = target["b"] = uri
            await a.subscribe_resource(uri)
            await b.subscribe_resource(uri)
            # B, on the other replica, appends: A hears it and reads it.
            await b.call_tool("append_messages", {"context_id": cid, "messages": [{"role": "user", "content": "from b"}]})
            with anyio.fail_after(10):
                await heard["a"].wait()
            view = structured(await a.call_tool("get_context", {"context_id": cid}))
            assert [m["content"] for m in view["messages"]] == ["from b"], view
            # A's update reaches B the same way, and B's cached record is not stale.
            structured(await b.call_tool("get_context", {"context_id": cid}))
            heard["b"] = anyio.Event()
            await a.call_tool("update_context", {"context_id": cid, "title": "renamed by a"})
            with anyio.fail_after(10):
                await heard["b"].wait()
            view = structured(await b.call_tool("get_context", {"context_id": cid}))
            assert view["context"]["title"] == "renamed by a", view

    async def through_the_balancer() -> None:
        async with over_http(url_lb, token, elicitation_callback=confirm) as s:
            await tour(s)

    return await run([("each replica's client sees the other's updates", each_sees_the_others_updates),
                      ("the tour through HAProxy, round robin", through_the_balancer)])


def main() -> int:
    mode, *args = sys.argv[1:]
    if mode == "stdio":
        return anyio.run(stdio_checks, *args)
    if mode == "http":
        return anyio.run(http_checks, *args)
    if mode == "replicas":
        return anyio.run(replica_checks, *args)
    raise SystemExit(f"unknown mode {mode!r}")


if __name__ == "__main__":
    sys.exit(main())
