"""The HTTP transport every provider shares: redirects are never followed (credentials stay with
the configured host), a response must arrive whole within ``request_timeout``, a host that cannot
be reached ends the run at once, and ``Retry-After`` is read in every form and capped out loud."""

from __future__ import annotations

import json
import logging
import os
import re
import socket
import socketserver
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from tap_invoicing.core import client
from tap_invoicing.core.client import ApiClient
from tap_invoicing.core.http import ApiSession
from tap_invoicing.errors import RedirectRefusedError, RetriesExhaustedError
from tap_invoicing.sandbox import Fault, Sandbox
from tests.conftest import everything, no_waiting, run_cli, run_sync
from tests.core.test_helpers import http_date
from tests.cybersource.test_failures import DETAIL, LIST


def write_config(path: Path, config: dict) -> str:
    path.write_text(json.dumps(config))
    return str(path)


def last_line(result: subprocess.CompletedProcess) -> str:
    """The line a failed run ends with (the SDK's "An unhandled error occurred" comes before)."""
    return result.stderr.strip().splitlines()[-1]


def without_jitter(self: ApiClient, value: float) -> float:
    return value


@pytest.fixture
def other() -> Iterator[Sandbox]:
    """A second API on another port: the host a redirect points at."""
    with Sandbox(provider="cybersource", invoices=5, seed=11) as sb:
        yield sb


# --- redirects (point 6) --------------------------------------------------------------------


@pytest.mark.parametrize("status", [301, 302, 307, 308])
def test_a_redirect_is_not_followed_and_names_the_request_and_the_target(
    sandbox, config, other, status
):
    location = f"{other.base_url}{LIST}?offset=0&limit=25"
    sandbox.inject(Fault(kind="status", status=status, headers={"Location": location}))
    with pytest.raises(RedirectRefusedError) as failure:
        run_sync(config)
    assert str(failure.value) == (
        f"GET {LIST} was redirected (HTTP {status}) to 127.0.0.1:{other.port}: not followed "
        "(credentials are never sent across a redirect); check base_url"
    )
    assert other.requests == [], "nothing, signature included, reached the redirect's target"
    assert len(sandbox.requests) == 1, "a redirect is not retried"


def test_a_redirect_mid_run_ends_it_with_one_line_and_sends_nothing_away(
    sandbox, config, other, tmp_path
):
    victim = sandbox.invoice_ids()[7]
    location = f"http://user:pass@127.0.0.1:{other.port}/elsewhere?token=abc"
    sandbox.inject(
        Fault(
            kind="status", status=302, headers={"Location": location}, path_prefix=DETAIL + victim
        )
    )
    result = run_cli("--config", write_config(tmp_path / "config.json", config))
    assert result.returncode == 1
    assert last_line(result).endswith(
        f"GET {DETAIL}{victim} was redirected (HTTP 302) to 127.0.0.1:{other.port}: not followed "
        "(credentials are never sent across a redirect); check base_url"
    )
    assert "Traceback" not in result.stderr
    assert "user" not in last_line(result)
    assert "token" not in result.stderr
    assert other.requests == []


# --- a deadline on the whole response (point 10) --------------------------------------------


def test_a_response_dripping_its_body_is_abandoned_at_the_timeout_and_retried(
    sandbox, config, monkeypatch
):
    """40 bytes at 0.5 s each take 20 s; each read is quick, so only a deadline on the whole
    response stops it at ``request_timeout``."""
    config = {**config, "request_timeout": 2}
    clean = run_sync(config)
    monkeypatch.setattr(ApiClient, "retry_waits", no_waiting)
    monkeypatch.setattr(ApiClient, "jitter", without_jitter)
    victim = sandbox.invoice_ids()[3]
    sandbox.inject(
        Fault(kind="drip", seconds=0.5, body=b"x" * 40, path_prefix=DETAIL + victim, times=1)
    )
    sandbox.clear_requests()
    dripped = run_sync(config)
    assert everything(dripped) == everything(clean)
    abandoned, retry = [r for r in sandbox.requests if r.invoice_id == victim]
    held = retry.time - abandoned.time
    assert 1.9 <= held < 2.6, f"the dripping response held its worker {held:.2f} s"


def test_headers_dripping_in_are_held_to_the_same_deadline():
    """A server that sends its status line a byte at a time is cut off just as one that drips
    its body: the deadline covers the response from its first byte."""

    class DrippingHeaders(socketserver.BaseRequestHandler):
        def handle(self) -> None:
            self.request.recv(65536)
            for byte in b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}":
                time.sleep(0.2)
                try:
                    self.request.sendall(bytes([byte]))
                except OSError:
                    return

    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), DrippingHeaders)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}).start()
    try:
        with ApiSession(pool_size=1, base_url="http://127.0.0.1") as session:
            started = time.monotonic()
            with pytest.raises(requests.exceptions.ReadTimeout):
                session.get(f"http://127.0.0.1:{server.server_address[1]}/", timeout=1)
            assert time.monotonic() - started < 1.3
    finally:
        server.shutdown()
        server.server_close()


# --- a host that cannot be reached (point 11) -----------------------------------------------


def unused_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def without_proxies() -> dict[str, str]:
    """The environment minus proxy settings: a name that cannot resolve is looked up here."""
    return {key: value for key, value in os.environ.items() if "proxy" not in key.lower()}


@pytest.mark.parametrize(
    ("base_url", "reach"),
    [
        ("http://127.0.0.1:{port}", "127.0.0.1:{port} (connection refused)"),
        ("https://nonexistent.invalid", "nonexistent.invalid:443 (name does not resolve)"),
    ],
    ids=["refused", "unresolvable"],
)
def test_an_unreachable_host_ends_the_run_at_once_naming_it(sandbox, tmp_path, base_url, reach):
    port = unused_port()
    config = {**sandbox.tap_config(), "base_url": base_url.format(port=port)}
    started = time.monotonic()
    result = run_cli(
        "--config", write_config(tmp_path / "config.json", config), env=without_proxies()
    )
    elapsed = time.monotonic() - started
    assert result.returncode == 1
    assert elapsed < 10, f"took {elapsed:.1f} s"
    assert last_line(result).endswith(
        f"cannot reach {reach.format(port=port)}: check base_url / environment"
    )
    assert "offset" not in result.stderr, "no query in any line"
    assert "Retrying" not in result.stderr
    assert "Traceback" not in result.stderr


def test_a_host_refusing_mid_run_is_still_retried(sandbox, config, monkeypatch):
    monkeypatch.setattr(ApiClient, "retry_waits", no_waiting)
    stopper = threading.Thread(target=sandbox.stop)

    def stop_at_the_first_detail(incoming: object) -> None:
        if incoming.kind == "detail" and not stopper.is_alive():
            stopper.start()

    sandbox.on_request(stop_at_the_first_detail)
    with pytest.raises(RetriesExhaustedError, match=r" still failing after 8 tries: "):
        run_sync({**config, "max_workers": 1})
    stopper.join()


def test_each_retry_is_logged_once_without_its_query(sandbox, config, caplog):
    sandbox.inject(Fault(kind="drop", path_prefix=LIST, times=1))
    with caplog.at_level(logging.DEBUG):
        run_sync(config)
    retry_lines = [
        r.getMessage()
        for r in caplog.records
        if "Retrying" in r.getMessage() or "Backing off" in r.getMessage()
    ]
    assert len(retry_lines) == 1
    assert re.fullmatch(
        rf"Retrying GET {LIST} in [\d.]+ s \(try 1 of 8 failed\): ConnectionError", retry_lines[0]
    )
    assert all("offset=" not in line for line in retry_lines)


# --- Retry-After (points 8 and 12) ----------------------------------------------------------


def test_a_429_with_a_minus_0000_date_is_waited_out(sandbox, config):
    clean = run_sync(config)
    retry_after = http_date(2, zone="-0000")
    assert retry_after.endswith(" -0000")
    sandbox.inject(
        Fault(
            kind="status",
            status=429,
            headers={"Retry-After": retry_after},
            path_prefix=DETAIL,
            times=1,
        )
    )
    assert everything(run_sync(config)) == everything(clean)
    assert [r.status for r in sandbox.requests].count(429) == 1


def test_a_retry_after_beyond_the_cap_is_capped_and_says_so(sandbox, config, monkeypatch, caplog):
    monkeypatch.setattr(client, "MAX_RETRY_WAIT", 0.5)
    victim = sandbox.invoice_ids()[2]
    sandbox.inject(
        Fault(
            kind="status",
            status=429,
            headers={"Retry-After": "86400"},
            path_prefix=DETAIL + victim,
            times=1,
        )
    )
    with caplog.at_level(logging.INFO):
        result = run_sync(config)
    assert victim in result.ids()
    capped = [r.getMessage() for r in caplog.records if "Retry-After" in r.getMessage()]
    assert capped == [
        f"GET {DETAIL}{victim} asked to wait 86400 s (Retry-After): waiting 0.5 s, the cap"
    ]
