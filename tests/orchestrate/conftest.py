"""Helpers of the orchestration tests: the README's commands, read out of its sections, typed one
by one into a terminal of their own, in a copy of the project, with the real tools."""

from __future__ import annotations

import contextlib
import json
import os
import re
import shlex
import shutil
import signal
import subprocess
import time
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

from tests.conftest import TAP, secrets_in

ROOT = Path(__file__).resolve().parents[2]
MELTANO_BIN = ROOT / ".venv-meltano/bin"
PROJECT_FILES = ("meltano.yml", "pyproject.toml", "README.md", "tap_invoicing", "schemas")
"""What a Meltano project of this repository needs: no virtualenvs, no .meltano, no output."""
COMMAND_TIMEOUT = 900
READY_TIMEOUT = 120
STOP_TIMEOUT = 30
ASSIGNMENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*=.*", flags=re.DOTALL)


def split_command(line: str) -> tuple[dict[str, str], list[str]]:
    """A command line as a shell reads it: the ``NAME=value`` words in front set variables
    for that one command; the rest is the command."""
    words = shlex.split(line)
    variables = {}
    while words and ASSIGNMENT.fullmatch(words[0]):
        name, _, value = words.pop(0).partition("=")
        variables[name] = value
    return variables, words


def readme_section(title: str) -> str:
    """The README's ``## title`` section, up to the next ``##`` heading."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    start = text.index(f"\n## {title}\n")
    end = text.find("\n## ", start + 1)
    return text[start : end if end > 0 else len(text)]


def command_blocks(section: str) -> list[list[str]]:
    """The commands of each ```bash block of a README section, one line each."""
    blocks = re.findall(r"^```bash\n(.*?)^```$", section, flags=re.DOTALL | re.MULTILINE)
    return [[line for line in block.splitlines() if line.strip()] for block in blocks]


def block_running(section: str, extractor: str, loader: str = "target-jsonl") -> list[str]:
    """The one block of the section with ``meltano run <extractor> <loader>``."""
    words = ["meltano", "run", extractor, loader]
    found = [
        block
        for block in command_blocks(section)
        if any(shlex.split(line)[:4] == words for line in block)
    ]
    assert len(found) == 1, f"the README shows one block running {extractor} {loader}: {len(found)}"
    return found[0]


def copy_project(destination: Path) -> Path:
    """A copy of the project's own files, where Meltano may write what it likes."""
    destination.mkdir(parents=True)
    for name in PROJECT_FILES:
        source = ROOT / name
        if source.is_dir():
            ignore = shutil.ignore_patterns("__pycache__")
            shutil.copytree(source, destination / name, ignore=ignore)
        else:
            shutil.copy2(source, destination / name)
    return destination


def meltano_environment() -> dict[str, str]:
    """This environment with the pinned Meltano first on PATH, no usage statistics, and no
    Meltano or tap setting of the developer's."""
    environment = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("MELTANO_", "TAP_INVOICING", "TARGET_JSONL"))
    }
    assert (MELTANO_BIN / "meltano").exists(), "`make test` installs Meltano in .venv-meltano"
    environment["PATH"] = f"{MELTANO_BIN}{os.pathsep}{environment.get('PATH', '')}"
    environment["MELTANO_SEND_ANONYMOUS_USAGE_STATS"] = "false"
    return environment


def _group_ended(job: subprocess.Popen, timeout: float) -> bool:
    """Whether every process of the job's process group ended within the timeout."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job.poll()  # reaps the job itself once it ends
        try:
            os.killpg(job.pid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.1)
    return False


class Terminal:
    """Types commands one at a time in a directory, as a person following the README would. A
    command ending in ``&`` runs in the background, like a shell job, until the terminal is
    closed (it is a context manager).

    Every command must succeed, and print neither a secret nor a deprecation warning.
    """

    def __init__(self, cwd: Path) -> None:
        self.cwd = cwd
        self.environment = meltano_environment()
        self._jobs: list[tuple[subprocess.Popen, Path]] = []

    def type(self, command: str) -> subprocess.CompletedProcess:
        """Run one command line (``NAME=value`` words in front set variables for it alone);
        a background one returns once it is ready."""
        variables, words = split_command(command)
        if words[-1] == "&":
            return self._start(words[:-1])
        result = subprocess.run(
            words,
            cwd=self.cwd,
            env={**self.environment, **variables},
            capture_output=True,
            text=True,
            timeout=COMMAND_TIMEOUT,
            check=False,
        )
        output = result.stdout + result.stderr
        assert result.returncode == 0, f"{words[:3]} failed:\n{output[-4000:]}"
        self._check_output(words, output)
        return result

    def _start(self, words: list[str]) -> subprocess.CompletedProcess:
        """Start a background job, a sandbox: it is ready when its --write-config file is."""
        assert "--write-config" in words, "a background command must say when it is ready"
        ready = self.cwd / words[words.index("--write-config") + 1]
        log = self.cwd / f"job-{len(self._jobs)}.log"
        with log.open("w") as sink:
            job = subprocess.Popen(
                words,
                cwd=self.cwd,
                env=self.environment,
                stdout=sink,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self._jobs.append((job, log))
        deadline = time.monotonic() + READY_TIMEOUT
        while not (ready.exists() and ready.stat().st_size):
            assert job.poll() is None, f"{words[:3]} stopped:\n{log.read_text()[-4000:]}"
            assert time.monotonic() < deadline, f"{words[:3]} did not start in {READY_TIMEOUT} s"
            time.sleep(0.2)
        return subprocess.CompletedProcess(words, 0, "", "")

    @staticmethod
    def _check_output(words: list[str], output: str) -> None:
        assert not secrets_in(output), f"{words[:3]} printed a secret"
        assert "deprecat" not in output.lower(), f"{words[:3]} warned:\n{output[-4000:]}"

    def close(self) -> None:
        """Stop the background jobs as ``kill %1`` would, with SIGTERM to each one's process
        group (Meltano and the sandbox it started): every process of it must end."""
        jobs, self._jobs = self._jobs, []
        left_running = []
        for job, _ in jobs:
            with contextlib.suppress(ProcessLookupError):  # it may have ended on its own
                os.killpg(job.pid, signal.SIGTERM)
            if not _group_ended(job, STOP_TIMEOUT):
                os.killpg(job.pid, signal.SIGKILL)
                left_running.append(job.args[:3])
        assert not left_running, f"processes left running after SIGTERM: {left_running}"
        for job, log in jobs:
            self._check_output(job.args, log.read_text())

    def __enter__(self) -> Terminal:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def read_records(folder: Path) -> dict[str, list[dict]]:
    """What target-jsonl wrote into a folder, per stream, with exact decimals."""
    return {
        path.stem: [json.loads(line, parse_float=Decimal) for line in path.read_text().splitlines()]
        for path in sorted(folder.glob("*.jsonl"))
    }


def new_records(before: dict[str, list[dict]], after: dict[str, list[dict]]) -> dict:
    """The records a run appended (target-jsonl appends to its files)."""
    return {stream: records[len(before.get(stream, [])) :] for stream, records in after.items()}


def tap_records(config_path: Path) -> dict[str, list[dict]]:
    """What the tap itself writes with a config file, per stream: what Meltano should load."""
    result = subprocess.run(
        [TAP, "--config", str(config_path)],
        capture_output=True,
        text=True,
        timeout=COMMAND_TIMEOUT,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-4000:]
    records: dict[str, list[dict]] = {}
    for line in result.stdout.splitlines():
        message = json.loads(line, parse_float=Decimal)
        if message["type"] == "RECORD":
            records.setdefault(message["stream"], []).append(message["record"])
    return records


@dataclass
class Followed:
    """What following a block of commands gave: the records each ``meltano run`` wrote, and
    what each command printed on stdout."""

    runs: list[dict[str, list[dict]]] = field(default_factory=list)
    printed: dict[str, str] = field(default_factory=dict)

    def printed_by(self, *words: str) -> str:
        """The stdout of the one command that starts with these words."""
        [output] = [
            out
            for line, out in self.printed.items()
            if shlex.split(line)[: len(words)] == list(words)
        ]
        return output


def follow(terminal: Terminal, commands: list[str], output: Path) -> Followed:
    """Type each command; note the records each ``meltano run`` adds to the output folder."""
    followed = Followed()
    for command in commands:
        before = read_records(output)
        result = terminal.type(command)
        followed.printed[command] = result.stdout
        if split_command(command)[1][:2] == ["meltano", "run"]:
            followed.runs.append(new_records(before, read_records(output)))
    return followed


def settings_set(commands: list[str], plugin: str) -> dict[str, str]:
    """The settings the commands give the plugin with ``meltano config set``."""
    settings = {}
    for line in commands:
        words = shlex.split(line)
        if words[:4] == ["meltano", "config", "set", plugin]:
            settings[words[4]] = words[5]
    return settings


def written_config(commands: list[str]) -> Path:
    """The file the block's sandbox wrote its settings to (``--write-config``)."""
    [words] = [shlex.split(line) for line in commands if "--write-config" in line]
    return Path(words[words.index("--write-config") + 1])
