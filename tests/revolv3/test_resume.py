"""A Revolv3 first pass stopped at about 60% (SIGKILL, SIGTERM), in one update window or split
into windows past the page cap, resumes from the last checkpoint it wrote (tests/resume.py
says within what) without reading again what it wrote: the plan goes by update time, and the
sandbox's invoices did not change; a checkpoint names only invoices written."""

from __future__ import annotations

import signal
from collections.abc import Mapping
from typing import Any

import pytest

from tap_invoicing.sandbox import Sandbox
from tests.resume import assert_a_stopped_first_pass_resumes
from tests.revolv3.conftest import fast

LISTINGS = {"one window": {}, "split windows": {"page_size": 50, "max_list_pages": 2}}


def unchanged(_: Mapping[str, Any]) -> bool:
    return False


@pytest.mark.slow
@pytest.mark.parametrize("listing", LISTINGS)
@pytest.mark.parametrize("signum", [signal.SIGKILL, signal.SIGTERM])
def test_a_first_pass_stopped_at_60_percent_resumes_within_its_allowance(tmp_path, signum, listing):
    options = {"rate_limits": (), "latency": 0.08}
    with Sandbox(provider="revolv3", invoices=300, seed=45, **options) as sandbox:
        config = {**fast(sandbox), "max_workers": 2, **LISTINGS[listing]}
        run = assert_a_stopped_first_pass_resumes(sandbox, config, tmp_path, signum, unchanged)
    resumable = [s["bookmarks"]["invoices"] for s in run.stopped.state_messages() if s]
    assert resumable
    for bookmark in resumable:
        assert {str(i) for i in bookmark["resume"]["ahead"]} <= run.written
