"""Replicas of an example server behind a round-robin load balancer, for the official SDK
client's tests: Debian's `redis-server` and `haproxy` (`scripts/test` installs them), each on
a free loopback port in a temporary directory, and three replicas sharing state through Redis
(`--redis-url`). `BalancedServer` has the interface of `HttpQuickstart` (`url`, `stop()`,
`kill()`, `stderr()`), so a test runs unchanged against one process or against the cluster;
every HTTP request goes to the next replica, with no stickiness.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

from interop import HttpQuickstart

REPLICAS = 3


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def program(name: str, *elsewhere: str) -> str:
    for candidate in (shutil.which(name), *elsewhere):
        if candidate and Path(candidate).exists():
            return candidate
    pytest.fail(f"{name} is not installed: run `scripts/test --setup-only` (or apt-get install {name})", pytrace=False)


def wait_for(what: str, ready, proc: subprocess.Popen, limit: float = 20) -> None:
    deadline = time.monotonic() + limit
    while not ready():
        if proc.poll() is not None or time.monotonic() > deadline:
            raise AssertionError(f"{what} did not start (exit status {proc.poll()})")
        time.sleep(0.02)


def redis_answers(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1) as s:
            s.sendall(b"PING\r\n")
            return s.recv(64).startswith(b"+PONG")
    except OSError:
        return False


def listens(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
        return True
    except OSError:
        return False


class BalancedServer:
    """Redis, `REPLICAS` replicas of `example` (with `args`) and HAProxy in front of them."""

    def __init__(self, stderr_path: Path, *args: str, example: str = "everything") -> None:
        self.stderr_path = stderr_path
        self.dir = Path(tempfile.mkdtemp(prefix="mcp-balanced-"))
        self.redis: subprocess.Popen | None = None
        self.haproxy: subprocess.Popen | None = None
        self.replicas: list[HttpQuickstart] = []
        try:
            self._start(example, args)
        except BaseException:
            self.kill()
            raise

    def _start(self, example: str, args: tuple[str, ...]) -> None:
        redis_port = free_port()
        self.redis = subprocess.Popen(
            [program("redis-server"), "--save", "", "--appendonly", "no", "--bind", "127.0.0.1",
             "--port", str(redis_port), "--dir", str(self.dir)],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        wait_for("redis-server", lambda: redis_answers(redis_port), self.redis)
        redis_url = f"redis://127.0.0.1:{redis_port}"
        for i in range(REPLICAS):
            stderr = self.stderr_path.with_name(f"{self.stderr_path.stem}.replica{i}.stderr")
            self.replicas.append(HttpQuickstart(stderr, "--redis-url", redis_url, *args, example=example))
        port = free_port()
        backends = "".join(
            f"    server r{i} {r.url.split('//', 1)[1].split('/', 1)[0]}\n" for i, r in enumerate(self.replicas)
        )
        config = self.dir / "haproxy.cfg"
        config.write_text(
            "global\n    maxconn 4000\n"
            "defaults\n    mode http\n    timeout connect 2s\n    timeout client 120s\n"
            "    timeout server 120s\n    timeout tunnel 120s\n"
            f"frontend mcp\n    bind 127.0.0.1:{port}\n    default_backend replicas\n"
            f"backend replicas\n    balance roundrobin\n{backends}"
        )
        self.haproxy = subprocess.Popen(
            [program("haproxy", "/usr/sbin/haproxy"), "-db", "-f", str(config)],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        wait_for("haproxy", lambda: listens(port), self.haproxy)
        self.url = f"http://127.0.0.1:{port}/mcp"

    def stderr(self) -> str:
        return "\n---\n".join(f"replica {i}:\n{r.stderr()}" for i, r in enumerate(self.replicas))

    def stop(self) -> int:
        """SIGTERM to every replica; the first non-zero exit status, or 0."""
        statuses = [r.stop() for r in self.replicas]
        self._stop_parts()
        return next((s for s in statuses if s != 0), 0)

    def kill(self) -> None:
        for r in self.replicas:
            r.kill()
        self._stop_parts()

    def _stop_parts(self) -> None:
        for proc in (self.haproxy, self.redis):
            if proc is not None and proc.poll() is None:
                proc.kill()
                proc.wait()
        shutil.rmtree(self.dir, ignore_errors=True)
