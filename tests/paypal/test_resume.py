"""A PayPal first pass stopped at about 60% (SIGKILL, SIGTERM), whether it pages the list or
searches creation windows (with ``start_date``), resumes from the last checkpoint it wrote
(tests/resume.py says within what), reading again the invoices among those it wrote whose
status lets them change unseen; a checkpoint names only invoices written."""

from __future__ import annotations

import signal

import pytest

from tap_invoicing.providers.paypal.api import changes_unseen
from tap_invoicing.sandbox import Sandbox
from tests.resume import assert_a_stopped_first_pass_resumes

LISTINGS = {"list": {}, "search windows": {"start_date": "2000-01-01T00:00:00Z"}}


@pytest.mark.slow
@pytest.mark.parametrize("listing", LISTINGS)
@pytest.mark.parametrize("signum", [signal.SIGKILL, signal.SIGTERM])
def test_a_first_pass_stopped_at_60_percent_resumes_within_its_allowance(tmp_path, signum, listing):
    with Sandbox(provider="paypal", invoices=300, seed=44, latency=0.08) as sandbox:
        config = {**sandbox.tap_config(), "max_workers": 2, **LISTINGS[listing]}
        run = assert_a_stopped_first_pass_resumes(sandbox, config, tmp_path, signum, changes_unseen)
    resumable = [s["bookmarks"]["invoices"] for s in run.stopped.state_messages() if s]
    assert resumable
    for bookmark in resumable:
        assert set(bookmark["resume"]["ahead"]) <= run.written
