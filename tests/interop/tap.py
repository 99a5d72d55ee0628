#!/usr/bin/env python3
"""A stdio tap: run an MCP stdio server and record the traffic in both directions.

Usage:
    python tap.py --log FILE -- CMD [ARGS...]

The tap spawns CMD, copies its own stdin to the child's stdin and the child's
stdout to its own stdout, line by line, unchanged. Every line is also appended
to FILE, prefixed by its direction and a tab:

    S2C<TAB><line the server (child) wrote to stdout>
    C2S<TAB><line the client wrote to the server's stdin>

Lines starting with "#" are the tap's own notes (start, stdin EOF, exit status);
readers must ignore them. A last line without a trailing newline is still
forwarded and logged. The child's stderr is inherited (passes straight through).

Lifetime: when the client closes stdin, the tap closes the child's stdin (the
stdio transport's shutdown signal) and keeps forwarding stdout until the child
exits. When the child exits, the tap exits with the child's exit code (128+N if
the child died of signal N). SIGTERM/SIGINT/SIGHUP/SIGQUIT sent to the tap are
forwarded to the child; on Linux the child also gets SIGTERM if the tap dies.

Only the Python standard library is used, so any python3 >= 3.8 can run it.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import threading
import time

_FORWARDED_SIGNALS = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGQUIT)


class _Log:
    """Append-only, thread-safe, line-flushed log file."""

    def __init__(self, path: str) -> None:
        parent = os.path.dirname(os.path.abspath(path))
        os.makedirs(parent, exist_ok=True)
        self._file = open(path, "ab", buffering=0)  # noqa: SIM115 - lives as long as the process
        self._lock = threading.Lock()

    def record(self, direction: bytes, line: bytes) -> None:
        if line.endswith(b"\n"):
            line = line[:-1]
        if line.endswith(b"\r"):
            line = line[:-1]
        with self._lock:
            self._file.write(direction + b"\t" + line + b"\n")

    def note(self, text: str) -> None:
        with self._lock:
            self._file.write(f"# {time.strftime('%H:%M:%S')} {text}\n".encode())


def _set_parent_death_signal() -> None:
    """Linux: deliver SIGTERM to the child if the tap dies (even by SIGKILL)."""
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        pr_set_pdeathsig = 1
        libc.prctl(pr_set_pdeathsig, signal.SIGTERM, 0, 0, 0)
    except Exception:  # pragma: no cover - best effort, non-Linux
        pass


def _pump_stdin(child: subprocess.Popen[bytes], log: _Log) -> None:
    """Client -> server. On EOF (or a broken child stdin) close the child's stdin."""
    assert child.stdin is not None
    source = sys.stdin.buffer
    try:
        while True:
            line = source.readline()
            if not line:
                log.note("stdin EOF from client; closing the server's stdin")
                break
            log.record(b"C2S", line)
            try:
                child.stdin.write(line)
                child.stdin.flush()
            except (BrokenPipeError, OSError, ValueError):
                log.note("server's stdin is closed; dropping client input")
                break
    finally:
        try:
            child.stdin.close()
        except (BrokenPipeError, OSError, ValueError):
            pass


def _pump_stdout(child: subprocess.Popen[bytes], log: _Log) -> None:
    """Server -> client, until the child closes its stdout."""
    assert child.stdout is not None
    sink = sys.stdout.buffer
    client_gone = False
    while True:
        line = child.stdout.readline()
        if not line:
            break
        log.record(b"S2C", line)
        if client_gone:
            continue
        try:
            sink.write(line)
            sink.flush()
        except (BrokenPipeError, OSError, ValueError):
            client_gone = True
            log.note("client's stdout is closed; still logging server output")


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        description="Run a stdio MCP server and log every line in both directions.",
        usage="%(prog)s --log FILE -- CMD [ARGS...]",
    )
    parser.add_argument("--log", required=True, help="file to append the traffic to")
    parser.add_argument("command", nargs=argparse.REMAINDER, help="the server command")
    args = parser.parse_args(argv)
    command = args.command
    if command and command[0] == "--":
        command = command[1:]
    if not command:
        parser.error("missing the server command after --")

    log = _Log(args.log)
    log.note("start " + " ".join(command))
    try:
        child = subprocess.Popen(
            command,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=None,
            bufsize=0,
            preexec_fn=_set_parent_death_signal if sys.platform.startswith("linux") else None,
        )
    except OSError as err:
        log.note(f"cannot start the server: {err}")
        print(f"tap.py: cannot start {command[0]!r}: {err}", file=sys.stderr)
        return 127

    def forward(signum: int, _frame: object) -> None:
        log.note(f"forwarding signal {signal.Signals(signum).name} to the server")
        try:
            child.send_signal(signum)
        except ProcessLookupError:
            pass

    for sig in _FORWARDED_SIGNALS:
        signal.signal(sig, forward)

    threading.Thread(target=_pump_stdin, args=(child, log), daemon=True, name="c2s").start()
    out = threading.Thread(target=_pump_stdout, args=(child, log), daemon=True, name="s2c")
    out.start()

    # Signal handlers only run in the main thread, so wait with a timeout loop.
    while True:
        try:
            code = child.wait(timeout=0.2)
            break
        except subprocess.TimeoutExpired:
            continue
    out.join(timeout=5)
    log.note(f"server exited with code {code}")
    try:
        sys.stdout.flush()
    except (BrokenPipeError, OSError, ValueError):
        pass
    return code if code >= 0 else 128 - code


if __name__ == "__main__":
    # os._exit: the stdin pump may still be blocked in a read; don't wait for it.
    status = main(sys.argv[1:])
    os._exit(status)
