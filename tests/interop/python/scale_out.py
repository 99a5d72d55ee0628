#!/usr/bin/env python3
"""The official MCP Python SDK client against `everything` replicas behind a round-robin
load balancer (tests/scale_out.rs starts Redis, three replicas and HAProxy, then runs this
with the balancer's URL). Each check prints `ok NAME`; the exit status is 1 if one failed.

    python scale_out.py URL
"""

from __future__ import annotations

import sys
import traceback

import anyio
from mcp import ClientSession, types
from mcp.client.streamable_http import streamable_http_client


def text(result: types.CallToolResult) -> str:
    return "".join(c.text for c in result.content if isinstance(c, types.TextContent))


async def session_moves_between_replicas(url: str) -> None:
    async with streamable_http_client(url) as (read, write):
        async with ClientSession(read, write, read_timeout_seconds=30) as session:
            await session.initialize()
            tools = await session.list_tools()
            assert any(t.name == "test_simple_text" for t in tools.tools)
            for _ in range(6):  # round robin: every replica, twice
                assert "simple text" in text(await session.call_tool("test_simple_text", {}))


async def elicitation_answered_through_any_replica(url: str) -> None:
    async def answer(context, params: types.ElicitRequestParams) -> types.ElicitResult:
        return types.ElicitResult(action="accept", content={"username": "py", "email": "py@example.com"})

    async with streamable_http_client(url) as (read, write):
        async with ClientSession(read, write, read_timeout_seconds=30, elicitation_callback=answer) as session:
            await session.initialize()
            for _ in range(3):
                result = await session.call_tool("test_elicitation", {"message": "who?"})
                assert "py@example.com" in text(result), result


async def stream_resumed_on_another_replica(url: str) -> None:
    async with streamable_http_client(url) as (read, write):
        async with ClientSession(read, write, read_timeout_seconds=30) as session:
            await session.initialize()
            for _ in range(3):
                result = await session.call_tool("test_reconnection", {})
                assert "Reconnection test completed" in text(result), result


async def list_changed_heard_on_the_get_stream(url: str) -> None:
    heard = anyio.Event()

    async def on_message(message) -> None:
        if isinstance(message, types.ToolListChangedNotification):
            heard.set()

    async with streamable_http_client(url) as (read, write):
        async with ClientSession(read, write, read_timeout_seconds=30, message_handler=on_message) as session:
            await session.initialize()
            await anyio.sleep(0.3)  # the SDK opens its GET stream after initialize
            # Two calls: they land on two replicas, at least one not holding the GET stream.
            await session.call_tool("test_trigger_tool_change", {})
            await session.call_tool("test_trigger_tool_change", {})
            with anyio.fail_after(10):
                await heard.wait()


CHECKS = [
    session_moves_between_replicas,
    elicitation_answered_through_any_replica,
    stream_resumed_on_another_replica,
    list_changed_heard_on_the_get_stream,
]


async def main(url: str) -> int:
    failed = 0
    for check in CHECKS:
        try:
            with anyio.fail_after(60):
                await check(url)
            print(f"ok {check.__name__}", flush=True)
        except BaseException:  # noqa: BLE001 - every failure is reported, then the next check runs
            failed += 1
            print(f"FAIL {check.__name__}\n{traceback.format_exc()}", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(anyio.run(main, sys.argv[1]))
