"""Resumption through a round-robin balancer: the official MCP Python SDK client against three
quickstart replicas sharing state through Redis (balanced.py). The replicas close SSE
connections after 150 ms; the SDK reconnects with GET and `Last-Event-ID`, which the balancer
sends to another replica than the one running the call, and still gets every event and the
result, from the shared event log.
"""

from __future__ import annotations

import pytest

from balanced import BalancedServer
from interop import TapLogs, connect_http, dump, text_of

pytestmark = pytest.mark.anyio


async def test_a_stream_closed_early_resumes_on_other_replicas(logs: TapLogs) -> None:
    cluster = BalancedServer(logs.server_stderr(), "--sse-close-after", "150", "--sse-retry", "50", example="quickstart")
    try:
        seen: list[float] = []

        async def on_progress(progress: float, total: float | None, message: str | None) -> None:
            seen.append(progress)

        async with connect_http(logs, cluster) as conn:
            result = dump(await conn.session.call_tool("sleep", {"ms": 800}, progress_callback=on_progress))
            assert text_of(result) == "slept 800 ms"
            # The session itself goes on on every replica.
            for _ in range(3):
                assert text_of(dump(await conn.session.call_tool("add", {"a": 1, "b": 2}))) == "3"
        assert seen == [200.0, 400.0, 600.0, 800.0], seen
        resumed = [e for e in conn.tap.exchanges if e["method"] == "GET" and e["last_event_id"]]
        assert len(resumed) >= 2, conn.tap.exchanges
        assert all(e["status"] == 200 for e in resumed), conn.tap.exchanges
        assert cluster.stop() == 0, cluster.stderr()
    finally:
        cluster.kill()
