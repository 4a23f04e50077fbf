"""A tap killed mid-sync (SIGKILL) and resumed from the last STATE it wrote loses nothing: what
the killed run wrote and what the resumed run writes are together what a run never stopped
writes."""

from __future__ import annotations

import pytest

from tap_invoicing.sandbox import Sandbox
from tests.conftest import everything, invoices_with_status, merged, run_sync, run_until_stopped


@pytest.mark.parametrize("killed_run", ["first", "incremental"])
def test_resuming_after_sigkill_loses_nothing(tmp_path, killed_run):
    with Sandbox(provider="cybersource", invoices=150, seed=21, latency=0.005) as sb:
        config = {**sb.tap_config(), "page_size": 40}
        state = None
        if killed_run == "incremental":
            state = run_sync(config).state
            for invoice_id in invoices_with_status(sb, "SENT")[:3]:
                sb.api.pay(invoice_id)
            sb.api.add(2)
        clean = run_sync(config, state=state)

        killed = run_until_stopped(tmp_path, config, state, records_before_stop=10)
        resumed = run_sync(config, state=killed.state)

        assert everything(clean) == merged(everything(killed), everything(resumed))
        assert len(clean.ids()) > 10
