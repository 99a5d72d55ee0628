"""pytest configuration of the Python interop tests (see interop.py for the helpers)."""

from __future__ import annotations

from typing import Callable, Iterator

import pytest

from interop import RawServer, TapLogs


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def logs(request: pytest.FixtureRequest) -> TapLogs:
    """Tap log files of this test, under tests/interop/out/python/."""
    return TapLogs(request.node.nodeid)


@pytest.fixture
def raw_server(logs: TapLogs) -> Iterator[Callable[[], RawServer]]:
    """Factory of raw-line connections to the quickstart; every server is stopped at teardown."""
    started: list[RawServer] = []

    def start() -> RawServer:
        server = RawServer(logs.new())
        started.append(server)
        return server

    yield start
    for server in started:
        server.kill()
