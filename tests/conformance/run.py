#!/usr/bin/env python3
"""Runs the official MCP conformance suite (@modelcontextprotocol/conformance, pinned in
package.json) against the `everything` example over streamable HTTP.

Usage:
    python run.py --node NODE --server BIN [--client MCP_CLI] [--conformance-client BIN] [--junit FILE] [--out DIR]
    python run.py --node NODE --client-only --client MCP_CLI --conformance-client BIN [--junit FILE] [--out DIR]
    python run.py --node NODE --url URL [--junit FILE] [--out DIR]

With --url the suite targets a server already running there (replicas behind a load
balancer, as tests/scale_out.rs runs it): the sessions mode's runs, scenarios and extension
scenarios only, since the other modes need servers started with other flags; nothing is
started or stopped.

The server is started with `--transport http --port 0` once per server mode:

- sessions: the suite's complete runs, each one `conformance server` invocation:
  `--requirements 2025-11-25`, `--suite all --spec-version 2025-06-18` and
  `--suite all --spec-version 2025-11-25`. Every scenario a run selects, scored or not, is a
  test case; it passes when its checks hold no FAILURE and no WARNING. The run itself must exit 0.
- extensions: the skills scenarios (sep-2640-*), forced at 2025-11-25 and 2026-07-28 against
  the server with sessions; every check must run (a SKIPPED check fails, except those the
  suite defines as not applicable at that revision) and pass.
- client (with --client): the skills extension's client scenarios, the suite's mock server
  driving `mcp-cli skills list|verify`; every check must pass.
- client (with --conformance-client): the core and authorization client scenarios, each at
  every revision it applies to, and the authorization extensions' (forced), the suite's mock
  servers driving `examples/conformance_client`; every check must pass (warnings fail).
- json-response and stateless: the transport and lifecycle scenarios those modes can
  satisfy, one `--scenario` run each (server-to-client requests need an SSE stream, and
  session scenarios need sessions).

After its runs, each server gets SIGTERM and must exit with status 0.

Results: one line per scenario on stdout, the suite's checks under --out, a JUnit report in
--junit. Exit status 1 when anything failed. Standard library only.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from pathlib import Path

HERE = Path(__file__).resolve().parent
SUITE = HERE / "node_modules" / "@modelcontextprotocol" / "conformance" / "dist" / "index.js"

# Complete runs against the server with sessions: (name, suite arguments).
FULL_RUNS = [
    ("requirements-2025-11-25", ["--requirements", "2025-11-25"]),
    ("all-2025-06-18", ["--suite", "all", "--spec-version", "2025-06-18"]),
    ("all-2025-11-25", ["--suite", "all", "--spec-version", "2025-11-25"]),
    ("requirements-2026-07-28", ["--requirements", "2026-07-28"]),
    ("all-2026-07-28", ["--suite", "all", "--spec-version", "2026-07-28"]),
]
TRANSPORT = [
    "server-initialize",
    "server-session-lifecycle",
    "server-sse-multiple-streams",
    "dns-rebinding-protection",
    "ping",
    "tools-list",
    "tools-call-simple-text",
    "tools-call-with-progress",
    "resources-read-text",
    "prompts-get-simple",
]
# Without sessions the lifecycle and multiple-stream scenarios have nothing to check.
STATELESS = [s for s in TRANSPORT if s not in ("server-session-lifecycle", "server-sse-multiple-streams")]

# Extension scenarios (the suite runs them only when forced): each at each revision, and
# passing means every check ran and passed; a SKIPPED check fails the scenario unless the
# suite defines it as not applicable at that revision (listed here).
EXTENSION_SCENARIOS = [
    "sep-2640-skills-directory",
    "sep-2640-skills-enumeration",
    "sep-2640-skills-manifest",
]
EXTENSION_VERSIONS = ["2025-11-25", "2026-07-28"]
NOT_APPLICABLE = {
    # ttlMs and cacheScope exist from 2026-07-28 on.
    "2025-11-25": {"sep-2640-skills-list-cache-attributes", "sep-2640-skills-get-cache-attributes"},
}

# Client scenarios of the skills extension: (scenario, the mcp-cli command the suite runs
# with the mock server's URL appended). `skills list` reads no file (no prefetch); `skills
# verify` loads each skill and must stop at a file that fails its checks.
CLIENT_SCENARIOS = [
    ("sep-2640-client-no-prefetch", ["skills", "list", "--url"]),
    ("sep-2640-client-verify-digest", ["skills", "verify", "--url"]),
    ("sep-2640-client-verify-size", ["skills", "verify", "--url"]),
    ("sep-2640-client-verify-frontmatter", ["skills", "verify", "--url"]),
]

# The core client scenarios, each at every revision it applies to, driving
# `examples/conformance_client` (the suite appends the mock server's URL and sets
# MCP_CONFORMANCE_SCENARIO, MCP_CONFORMANCE_PROTOCOL_VERSION and MCP_CONFORMANCE_CONTEXT).
CORE_CLIENT_SCENARIOS = [
    ("initialize", ["2025-06-18", "2025-11-25"]),
    ("tools_call", ["2025-06-18", "2025-11-25", "2026-07-28"]),
    ("elicitation-sep1034-client-defaults", ["2025-11-25"]),
    ("sse-retry", ["2025-11-25"]),
    ("request-metadata", ["2026-07-28"]),
    ("sep-2322-client-request-state", ["2026-07-28"]),
    ("http-standard-headers", ["2026-07-28"]),
    ("http-custom-headers", ["2026-07-28"]),
    ("http-invalid-tool-headers", ["2026-07-28"]),
    ("json-schema-ref-no-deref", ["2026-07-28"]),
    ("json-schema-2020-12-preservation", ["2025-11-25", "2026-07-28"]),
]
# The authorization client scenarios, each at every revision it applies to; the extension
# flows (client credentials, enterprise-managed authorization, DPoP, workload identity) are
# forced, the suite runs them only when asked.
_AUTH_BOTH = ["2025-11-25", "2026-07-28"]
_AUTH_ALL = ["2025-06-18", "2025-11-25", "2026-07-28"]
_AUTH_DRAFT = ["2026-07-28"]
AUTH_CLIENT_SCENARIOS = [
    *[(f"auth/{s}", _AUTH_BOTH) for s in [
        "metadata-default", "metadata-var1", "metadata-var2", "metadata-var3", "basic-cimd",
        "scope-from-www-authenticate", "scope-from-scopes-supported",
        "scope-omitted-when-undefined", "scope-step-up", "scope-retry-limit", "pre-registration",
    ]],
    *[(f"auth/token-endpoint-auth-{s}", _AUTH_ALL) for s in ["basic", "post", "none"]],
    ("auth/2025-03-26-oauth-metadata-backcompat", ["2025-03-26"]),
    ("auth/2025-03-26-oauth-endpoint-fallback", ["2025-03-26"]),
    *[(f"auth/{s}", _AUTH_DRAFT) for s in [
        "resource-mismatch", "offline-access-scope", "offline-access-not-supported",
        "authorization-server-migration", "iss-supported", "iss-not-advertised",
        "iss-supported-missing", "iss-wrong-issuer", "iss-unexpected", "iss-normalized",
        "metadata-issuer-mismatch",
    ]],
]
AUTH_EXTENSION_SCENARIOS = [
    "auth/client-credentials-jwt", "auth/client-credentials-basic",
    "auth/enterprise-managed-authorization", "auth/dpop", "auth/dpop-nonce", "auth/wif-jwt-bearer",
]

# Client checks the suite reports SKIPPED at a revision where, by the suite's own logic, no
# client can make them run: (scenario, check name) -> why, with the suite's source lines
# (the pinned dist/index.js of 0.2.0-alpha.12; src/ paths as in the conformance repository).
# They are reported as skipped, counted apart from the passes, never as passes; any other
# SKIPPED check fails its scenario.
_NO_HANDSHAKE_AT_2026 = (
    "never applies: http-standard-headers runs only at 2026-07-28 (its base class sets "
    "`source = { introducedIn: DRAFT_PROTOCOL_VERSION }`, src/scenarios/client/http-base.ts:26; "
    "dist/index.js:1128 `this.source={introducedIn:A}`, A = '2026-07-28'), a revision with no "
    "`initialize` handshake; its mock answers `server/discover` with supportedVersions "
    "['2026-07-28'] (http-base.ts:149-150; dist/index.js:1130 `supportedVersions:[A]`), so a "
    "2026-07-28 client has no reason to fall back to the legacy handshake; and getChecks() lists "
    "`{method}` among the expected methods and reports a method the client never sent as SKIPPED "
    "(src/scenarios/client/http-standard-headers.ts:39-60; dist/index.js:2199)"
)
CLIENT_NOT_APPLICABLE = {
    ("http-standard-headers", "ClientMcpMethodHeader_initialize"):
        _NO_HANDSHAKE_AT_2026.replace("{method}", "initialize"),
    ("http-standard-headers", "ClientMcpMethodHeader_notifications_initialized"):
        _NO_HANDSHAKE_AT_2026.replace("{method}", "notifications/initialized"),
}


def split_client_checks(scenario: str, checks: list[dict]) -> tuple[list[dict], list[tuple[str, str]]]:
    """The checks that fail the scenario (anything but SUCCESS and INFO, except the SKIPPED
    ones CLIENT_NOT_APPLICABLE explains), and those explained: (check name, why)."""
    bad, not_applicable = [], []
    for c in checks:
        status = c.get("status")
        if status in ("SUCCESS", "INFO"):
            continue
        why = CLIENT_NOT_APPLICABLE.get((scenario, c.get("name")))
        if status == "SKIPPED" and why:
            not_applicable.append((c["name"], why))
        else:
            bad.append(c)
    return bad, not_applicable


# (mode, server flags, complete runs, single scenarios)
MODES = [
    ("sessions", [], FULL_RUNS, []),
    # One JSON body cannot carry progress notifications.
    ("json-response", ["--json-response"], [], [s for s in TRANSPORT if s != "tools-call-with-progress"]),
    ("stateless", ["--stateless"], [], STATELESS),
]

ANSI = re.compile(r"\x1b\[[0-9;]*m")


def start(server: str, args: list[str], stderr_path: Path) -> tuple[subprocess.Popen[bytes], str]:
    stderr = open(stderr_path, "wb")
    proc = subprocess.Popen(
        [server, "--transport", "http", "--port", "0", *args],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=stderr,
    )
    deadline = time.monotonic() + 20
    while True:
        text = stderr_path.read_text(encoding="utf-8", errors="replace")
        match = re.search(r"MCP server on (http://\S+?)[ ,]", text)
        if match:
            return proc, match.group(1)
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            raise SystemExit(f"conformance: the server did not start:\n{text}")
        time.sleep(0.02)


def run_scenario(node: str, url: str, scenario: str, out: Path) -> tuple[bool, str, float]:
    started = time.monotonic()
    run = subprocess.run(
        [node, str(SUITE), "server", "--url", url, "--scenario", scenario, "-o", str(out)],
        capture_output=True,
        text=True,
        timeout=180,
    )
    took = time.monotonic() - started
    output = ANSI.sub("", run.stdout + run.stderr)
    summary = re.search(r"Passed: (\d+)/(\d+), (\d+) failed, (\d+) warnings", output)
    if run.returncode != 0 or not summary:
        return False, output, took
    passed, total, failed, warnings = (int(g) for g in summary.groups())
    ok = failed == 0 and warnings == 0 and passed == total and total > 0
    return ok, output, took


def run_full(node: str, url: str, args: list[str], out: Path) -> tuple[int, str, list[tuple[str, bool, str]]]:
    """One complete suite run: its exit status, its output, and each scenario's verdict from
    the checks it wrote."""
    if out.exists():
        shutil.rmtree(out)
    run = subprocess.run(
        [node, str(SUITE), "server", "--url", url, *args, "-o", str(out)],
        capture_output=True,
        text=True,
        timeout=1200,
    )
    output = ANSI.sub("", run.stdout + run.stderr)
    verdicts = []
    for checks_file in sorted(out.glob("server-*/checks.json")):
        match = re.match(r"server-(.+)-\d{4}-\d{2}-\d{2}T", checks_file.parent.name)
        scenario = match.group(1) if match else checks_file.parent.name
        checks = json.loads(checks_file.read_text(encoding="utf-8"))
        bad = [c for c in checks if c.get("status") in ("FAILURE", "WARNING")]
        detail = "\n".join(
            f"{c['status']} {c['id']}: {c.get('errorMessage') or c.get('description', '')}" for c in bad
        )
        verdicts.append((scenario, not bad and bool(checks), detail or ("no checks" if not checks else "")))
    return run.returncode, output, verdicts


def run_extension(node: str, url: str, scenario: str, version: str, out: Path) -> tuple[bool, str, float]:
    """One extension scenario at one revision; every check must run and pass."""
    started = time.monotonic()
    target = out / f"{scenario}-{version}"
    if target.exists():
        shutil.rmtree(target)
    run = subprocess.run(
        [node, str(SUITE), "server", "--url", url, "--scenario", scenario, "--spec-version", version,
         "--force", "-o", str(target)],
        capture_output=True,
        text=True,
        timeout=180,
    )
    took = time.monotonic() - started
    output = ANSI.sub("", run.stdout + run.stderr)
    files = sorted(target.glob("*/checks.json"))
    if run.returncode != 0 or not files:
        return False, f"exit status {run.returncode}\n{output}", took
    checks = json.loads(files[0].read_text(encoding="utf-8"))
    allowed = NOT_APPLICABLE.get(version, set())
    bad = [
        c for c in checks
        if c.get("status") in ("FAILURE", "WARNING") or (c.get("status") == "SKIPPED" and c["id"] not in allowed)
    ]
    detail = "\n".join(f"{c['status']} {c['id']}: {c.get('errorMessage') or c.get('description', '')}" for c in bad)
    return bool(checks) and not bad, detail or ("no checks" if not checks else ""), took


def run_client(
    node: str, client: str, scenario: str, args: list[str], out: Path, version: str | None = None,
    force: bool = False,
) -> tuple[bool, str, float, list[tuple[str, str]]]:
    """One client scenario: the suite's mock server, `client ARGS URL`; every check must pass
    but those CLIENT_NOT_APPLICABLE explains, which are returned apart: (check name, why)."""
    started = time.monotonic()
    target = out / (scenario.replace("/", "_") + (f"-{version}" if version else ""))
    if target.exists():
        shutil.rmtree(target)
    command = " ".join([client, *args])
    extra = ["--spec-version", version] if version else []
    if force:
        extra.append("--force")
    run = subprocess.run(
        [node, str(SUITE), "client", "--command", command, "--scenario", scenario, *extra, "-o", str(target)],
        capture_output=True,
        text=True,
        timeout=180,
    )
    took = time.monotonic() - started
    output = ANSI.sub("", run.stdout + run.stderr)
    files = sorted(target.rglob("checks.json"))
    if run.returncode != 0 or not files:
        return False, f"exit status {run.returncode}\n{output}", took, []
    checks = [c for c in json.loads(files[0].read_text(encoding="utf-8")) if c.get("status") != "INFO"]
    bad, not_applicable = split_client_checks(scenario, checks)
    detail = "\n".join(f"{c['status']} {c['id']}: {c.get('errorMessage') or c.get('description', '')}" for c in bad)
    return bool(checks) and not bad, detail or ("no checks" if not checks else ""), took, not_applicable


# Complete client runs through the conformance client: (name, suite arguments).
CLIENT_FULL_RUNS = [
    ("client-requirements-2025-11-25", ["--requirements", "2025-11-25"]),
    ("client-requirements-2026-07-28", ["--requirements", "2026-07-28"]),
    ("client-all", ["--suite", "all"]),
]


def run_client_full(
    node: str, client: str, args: list[str], out: Path
) -> tuple[int, str, list[tuple[str, bool, str, list[tuple[str, str]]]]]:
    """One complete client run: its exit status, its output, and each scenario's verdict
    from the checks it wrote (every check SUCCESS or INFO, but for CLIENT_NOT_APPLICABLE,
    returned apart)."""
    if out.exists():
        shutil.rmtree(out)
    run = subprocess.run(
        [node, str(SUITE), "client", "--command", client, *args, "-o", str(out)],
        capture_output=True,
        text=True,
        timeout=900,
    )
    output = ANSI.sub("", run.stdout + run.stderr)
    verdicts = []
    for path in sorted(out.rglob("checks.json")):
        folder = path.parent.relative_to(out).as_posix()
        scenario = re.sub(r"-\d{4}-\d\d-\d\dT[\d-]+Z$", "", folder)
        checks = json.loads(path.read_text(encoding="utf-8"))
        bad, not_applicable = split_client_checks(scenario, checks)
        detail = "\n".join(f"{c['status']} {c['id']}: {c.get('errorMessage') or c.get('description', '')}" for c in bad)
        verdicts.append((scenario, bool(checks) and not bad, detail or ("no checks" if not checks else ""), not_applicable))
    return run.returncode, output, verdicts


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--node", required=True, help="Node.js >= 22")
    target = parser.add_mutually_exclusive_group()
    target.add_argument("--server", help="the everything example binary (needed unless --client-only or --url)")
    target.add_argument("--url", help="the endpoint of an `everything` server already running (sessions mode only)")
    parser.add_argument("--client-only", action="store_true", help="run the client scenarios only")
    parser.add_argument("--client", help="the mcp-cli binary, for the skills client scenarios")
    parser.add_argument(
        "--conformance-client", help="the conformance_client example binary, for the core and auth client scenarios"
    )
    parser.add_argument("--junit", type=Path)
    parser.add_argument("--out", type=Path, default=HERE.parents[1] / "tests" / "interop" / "out" / "conformance")
    args = parser.parse_args()
    if not SUITE.is_file():
        print(f"conformance: {SUITE} is missing; run `npm ci` in {HERE}", file=sys.stderr)
        return 2
    args.out.mkdir(parents=True, exist_ok=True)

    cases: list[tuple[str, str, bool, str, float]] = []
    # Checks that cannot apply by the suite's own logic (CLIENT_NOT_APPLICABLE): counted
    # apart, as skipped.
    skipped: list[tuple[str, str, str]] = []

    def not_applicable(mode: str, scenario: str, checks: list[tuple[str, str]]) -> None:
        for name, why in checks:
            skipped.append((mode, f"{scenario}/{name}", why))
            print(f"    n/a  {mode:<14} {scenario}/{name}: {why}", flush=True)

    def report(mode: str, name: str, ok: bool, output: str, took: float) -> None:
        cases.append((mode, name, ok, output, took))
        print(f"    {'ok  ' if ok else 'FAIL'} {mode:<14} {name} ({took:.1f}s)", flush=True)
        if not ok:
            print("\n".join("      | " + line for line in output.strip().splitlines()[-60:]), flush=True)

    if not args.client_only and not args.server and not args.url:
        parser.error("--server or --url is required unless --client-only")
    for mode, flags, full_runs, scenarios in [] if args.client_only else MODES:
        if args.url and mode != "sessions":
            continue
        if args.url:
            proc, url = None, args.url
        else:
            proc, url = start(args.server, flags, args.out / f"server-{mode}.stderr")
        try:
            for run_name, run_args in full_runs:
                started = time.monotonic()
                code, output, verdicts = run_full(args.node, url, run_args, args.out / run_name)
                took = time.monotonic() - started
                for scenario, ok, detail in verdicts:
                    report(run_name, scenario, ok, detail, 0.0)
                if code != 0 or not verdicts:
                    report(run_name, "suite exit status", False, f"exit status {code}\n{output}", took)
                else:
                    print(f"    {run_name}: {len(verdicts)} scenarios in {took:.1f}s", flush=True)
            for scenario in scenarios:
                ok, output, took = run_scenario(args.node, url, scenario, args.out / mode)
                report(mode, scenario, ok, output, took)
            if mode == "sessions":
                for version in EXTENSION_VERSIONS:
                    for scenario in EXTENSION_SCENARIOS:
                        ok, output, took = run_extension(args.node, url, scenario, version, args.out / "extensions")
                        report(f"ext-{version}", scenario, ok, output, took)
        finally:
            started = time.monotonic()
            status = None
            if proc is not None:
                if proc.poll() is None:
                    proc.send_signal(signal.SIGTERM)
                try:
                    status = proc.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    proc.kill()
            took = time.monotonic() - started
        if proc is None:
            continue
        ok = status == 0
        cases.append((mode, "clean exit on SIGTERM", ok, f"exit status {status}", took))
        print(f"    {'ok  ' if ok else 'FAIL'} {mode:<14} clean exit on SIGTERM (status {status})", flush=True)

    if args.client:
        for scenario, client_args in CLIENT_SCENARIOS:
            ok, output, took, na = run_client(args.node, args.client, scenario, client_args, args.out / "client")
            report("client", scenario, ok, output, took)
            not_applicable("client", scenario, na)

    if args.conformance_client:
        for run_name, run_args in CLIENT_FULL_RUNS:
            started = time.monotonic()
            code, output, verdicts = run_client_full(
                args.node, args.conformance_client, run_args, args.out / run_name
            )
            took = time.monotonic() - started
            for scenario, ok, detail, na in verdicts:
                report(run_name, scenario, ok, detail, 0.0)
                not_applicable(run_name, scenario, na)
            if code != 0 or not verdicts:
                report(run_name, "suite exit status", False, f"exit status {code}\n{output}", took)
            else:
                print(f"    {run_name}: {len(verdicts)} scenarios in {took:.1f}s", flush=True)
        for scenario, versions in CORE_CLIENT_SCENARIOS:
            for version in versions:
                ok, output, took, na = run_client(
                    args.node, args.conformance_client, scenario, [], args.out / "client", version
                )
                report(f"client-{version}", scenario, ok, output, took)
                not_applicable(f"client-{version}", scenario, na)
        for scenario, versions in AUTH_CLIENT_SCENARIOS:
            for version in versions:
                ok, output, took, na = run_client(
                    args.node, args.conformance_client, scenario, [], args.out / "client", version
                )
                report(f"client-{version}", scenario, ok, output, took)
                not_applicable(f"client-{version}", scenario, na)
        for scenario in AUTH_EXTENSION_SCENARIOS:
            ok, output, took, na = run_client(
                args.node, args.conformance_client, scenario, [], args.out / "client", force=True
            )
            report("client-extension", scenario, ok, output, took)
            not_applicable("client-extension", scenario, na)

    failed = sum(1 for c in cases if not c[2])
    if args.junit:
        suite = ET.Element(
            "testsuite", name="conformance", tests=str(len(cases) + len(skipped)), failures=str(failed),
            skipped=str(len(skipped)),
        )
        for mode, scenario, ok, output, took in cases:
            case = ET.SubElement(suite, "testcase", classname=f"conformance.{mode}", name=scenario, time=f"{took:.3f}")
            if not ok:
                ET.SubElement(case, "failure", message=f"{scenario} failed").text = output
        for mode, check, why in skipped:
            case = ET.SubElement(suite, "testcase", classname=f"conformance.{mode}", name=check, time="0")
            ET.SubElement(case, "skipped", message=why)
        ET.ElementTree(suite).write(args.junit, encoding="unicode", xml_declaration=True)
    print(f"    conformance checks in {args.out}; skipped = checks that cannot apply by the suite's own logic (n/a above)")
    print(f"conformance: {len(cases) - failed} passed, {failed} failed, {len(skipped)} skipped")
    return 1 if failed else 0

if __name__ == "__main__":
    sys.exit(main())
