"""What a person reads on the tap's stderr, from the real ``tap-invoicing`` command: plain lines
through a pipe (Meltano, Airflow, CI), a live bar on a terminal; no METRIC line per request unless
asked for; and the README's commands for those METRIC lines, as written."""

from __future__ import annotations

import fcntl
import json
import os
import pty
import re
import struct
import subprocess
import sys
import termios
import threading
from collections import Counter
from pathlib import Path

import pytest

from tap_invoicing.sandbox import Fault, Sandbox
from tests.conftest import TAP, secrets_in

ROOT = Path(__file__).resolve().parents[2]
DETAIL = "/invoicing/v2/invoices/"
INVOICES = 60
LOG_LINE = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} \| (INFO|WARNING) +\| \S+ +\| .+")
"""A line as the SDK's console formatter writes it."""
BAR = re.compile(
    r"invoices: +(\d+)%\|[^|]*\| (\d+)/(\d+) \[\d\d:\d\d<\d\d:\d\d, +[\d.?]+ invoices/s"
    r"(, [\d,]+ details fetched(?:, \d+ in flight)?)?\]"
)
"""A state of the bar: percent, done/total, elapsed<left, rate, then the notes of the summary."""


@pytest.fixture
def slow_sandbox():
    """60 invoices read at 5 requests a second: a run of about 13 s, so progress is due."""
    with Sandbox(provider="cybersource", invoices=INVOICES, seed=21) as sandbox:
        config = {**sandbox.tap_config(), "page_size": 25, "max_requests_per_second": 5}
        sandbox.inject(Fault(kind="drop", path_prefix=DETAIL + sandbox.invoice_ids()[30]))
        yield sandbox, config


def write_config(tmp_path: Path, config: dict) -> str:
    path = tmp_path / "tap-config.json"
    path.write_text(json.dumps(config))
    return str(path)


def run_tap(tmp_path: Path, config: dict) -> subprocess.CompletedProcess:
    """The tap with stdout and stderr on pipes, as Meltano and Airflow run it."""
    result = subprocess.run(
        [TAP, "--config", write_config(tmp_path, config)],
        capture_output=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert not secrets_in((result.stdout + result.stderr).decode())
    return result


def singer_messages(stdout: bytes) -> Counter:
    """Each stdout line parsed as a Singer message: the records per stream."""
    assert b"\r" not in stdout and b"\x1b" not in stdout
    messages = [json.loads(line) for line in stdout.splitlines()]
    assert {m["type"] for m in messages} <= {"SCHEMA", "RECORD", "STATE"}
    return Counter(m["stream"] for m in messages if m["type"] == "RECORD")


def check_the_last_lines(lines: list[str], records: Counter) -> None:
    """One line per stream with its records, then the SDK's record counts."""
    (invoices,) = [line for line in lines if "| invoices: " in line]
    assert f"| invoices: {records['invoices']} records written; list read: " in invoices
    assert f"{INVOICES} of {INVOICES} invoices" in invoices
    assert "0 unchanged and skipped, 0 vanished, 0 not emitted (read again next run)" in invoices
    for stream in ("invoice_line_items", "invoice_history"):
        assert any(
            line.endswith(f"| {stream}: {records[stream]:,} records written") for line in lines
        )
        assert any(f'"record_count","value":{records[stream]},' in line for line in lines)


def check_one_line_per_retry(lines: list[str], sandbox: Sandbox) -> None:
    retries = [line for line in lines if "Retrying" in line]
    assert len(retries) == 1
    assert f"Retrying GET {DETAIL}{sandbox.invoice_ids()[30]} in " in retries[0]


@pytest.mark.slow
def test_through_a_pipe_plain_lines_progress_every_ten_seconds(slow_sandbox, tmp_path):
    sandbox, config = slow_sandbox
    result = run_tap(tmp_path, config)
    records = singer_messages(result.stdout)
    assert records["invoices"] == INVOICES
    lines = result.stderr.decode().splitlines()
    assert all(LOG_LINE.fullmatch(line) for line in lines), "plain lines only, no bar"
    (duration,) = [
        json.loads(line.split("METRIC: ")[1]) for line in lines if "sync_duration" in line
    ]
    assert duration["value"] > 10, "the run is long enough for a progress line"
    progress = [line for line in lines if "| Progress: " in line]
    assert len(progress) >= 1
    assert re.search(
        r"Progress: \d+ of 60 invoices, [\d.]+ invoices/s, about .+ left, ", progress[0]
    )
    assert "http_request_duration" not in result.stderr.decode()
    assert len(lines) < len(sandbox.requests) / 2, "not a line per request"
    check_one_line_per_retry(lines, sandbox)
    check_the_last_lines(lines, records)


def run_on_a_terminal(command: list[str]) -> tuple[int, bytes, bytes]:
    """Run with stderr on a pseudo-terminal of 24 x 100 and stdout on a pipe, as in
    ``tap-invoicing ... | target-x`` typed in a shell: exit status, stdout, terminal output."""
    terminal, device = pty.openpty()
    fcntl.ioctl(device, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 100, 0, 0))
    shown: list[bytes] = []

    def read_the_terminal() -> None:
        while True:
            try:
                chunk = os.read(terminal, 65536)
            except OSError:  # EIO: the last writer closed the device
                return
            if not chunk:
                return
            shown.append(chunk)

    reader = threading.Thread(target=read_the_terminal)
    with subprocess.Popen(
        command, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=device
    ) as process:
        os.close(device)
        reader.start()
        stdout = process.stdout.read()
        status = process.wait(timeout=120)
    reader.join(timeout=10)
    os.close(terminal)
    return status, stdout, b"".join(shown)


@pytest.mark.slow
def test_on_a_terminal_a_live_bar_and_whole_singer_messages(slow_sandbox, tmp_path):
    sandbox, config = slow_sandbox
    status, stdout, shown = run_on_a_terminal([TAP, "--config", write_config(tmp_path, config)])
    screen = shown.decode()
    assert status == 0, screen[-2000:]
    assert not secrets_in(stdout.decode() + screen)
    records = singer_messages(stdout)
    assert records["invoices"] == INVOICES
    bars = [match.groups() for match in BAR.finditer(screen)]
    assert any(0 < int(done) < INVOICES and total == str(INVOICES) for _, done, total, _ in bars)
    assert ("100", str(INVOICES), str(INVOICES), f", {INVOICES} details fetched") in bars
    # What stays on screen of each line: what follows its last carriage return, less the
    # spaces that blank out a longer text drawn before.
    lines = [line.rsplit("\r", 1)[-1].rstrip(" ") for line in screen.split("\r\n")]
    logged = [line for line in lines if LOG_LINE.fullmatch(line)]
    assert all(LOG_LINE.fullmatch(line) or BAR.fullmatch(line) for line in lines if line)
    assert not [line for line in logged if "| Progress: " in line], "the bar, not lines"
    check_one_line_per_retry(logged, sandbox)
    check_the_last_lines(logged, records)


def test_request_metrics_are_logged_when_the_setting_asks(tmp_path):
    with Sandbox(provider="cybersource", invoices=30, seed=22) as sandbox:
        config = {**sandbox.tap_config(), "page_size": 25, "log_request_metrics": True}
        result = run_tap(tmp_path, config)
        requests = len(sandbox.requests)
    assert result.stderr.decode().count('"metric":"http_request_duration"') == requests


def readme_section(title: str) -> str:
    readme = (ROOT / "README.md").read_text()
    return readme.split(f"\n## {title}\n", 1)[1].split("\n## ", 1)[0]


def code_blocks(section: str, language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", section, flags=re.DOTALL)


def test_the_readme_commands_for_request_metrics_work_as_written(tmp_path):
    """Run the README's METRIC commands in a folder holding ``tap-config.json``: on stderr, or
    into a file through the SDK's logging config (the YAML the README shows)."""
    section = readme_section("Logs")
    (on_stderr, into_a_file) = code_blocks(section, "shell")
    (logging_config,) = code_blocks(section, "yaml")
    (tmp_path / "metrics-logging.yaml").write_text(logging_config)
    environment = {**os.environ, "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}"}
    with Sandbox(provider="cybersource", invoices=30, seed=23) as sandbox:
        write_config(tmp_path, {**sandbox.tap_config(), "page_size": 25})
        runs = []
        for command in (on_stderr, into_a_file):
            sandbox.clear_requests()
            result = subprocess.run(
                ["bash", "-euc", command],
                cwd=tmp_path,
                env=environment,
                capture_output=True,
                text=True,
                timeout=120,
                check=False,
            )
            assert result.returncode == 0, result.stderr[-2000:]
            output = (tmp_path / "output.jsonl").read_text()
            assert output.count('{"type":"RECORD","stream":"invoices",') == 30
            runs.append((result.stderr, len(sandbox.requests)))
    metric = '"metric":"http_request_duration"'
    (stderr, requests), (stderr_beside_a_file, requests_beside_a_file) = runs
    assert stderr.count(metric) == requests
    assert "METRIC: " not in stderr_beside_a_file
    metrics = (tmp_path / "metrics.log").read_text()
    assert metrics.count(metric) == requests_beside_a_file
    assert '"metric":"record_count"' in metrics
