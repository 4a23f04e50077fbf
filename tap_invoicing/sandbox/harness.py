"""``Sandbox``: one emulated invoicing API on 127.0.0.1, with the handles tests need to shape
its data, script failures and inspect what the client asked for."""

from __future__ import annotations

import json
import random
import threading
from os import PathLike
from pathlib import Path
from types import TracebackType
from typing import Any

from tap_invoicing.sandbox.cybersource import CyberSourceEmulator
from tap_invoicing.sandbox.emulator import Emulator
from tap_invoicing.sandbox.faults import Fault, FaultPlan
from tap_invoicing.sandbox.load import ServerLoad
from tap_invoicing.sandbox.paypal import PayPalEmulator
from tap_invoicing.sandbox.ratelimit import RateLimiter
from tap_invoicing.sandbox.requestlog import Listener, RequestLog, RequestRecord
from tap_invoicing.sandbox.revolv3 import Revolv3Emulator
from tap_invoicing.sandbox.server import SandboxHTTPServer

HOST = "127.0.0.1"
EMULATORS: dict[str, type[Emulator]] = {
    "cybersource": CyberSourceEmulator,
    "revolv3": Revolv3Emulator,
    "paypal": PayPalEmulator,
}


class Sandbox:
    """A local invoicing API server with seeded data.

    ``latency`` (seconds) is added to every response, within ``±latency_jitter`` of it (a
    fraction); with ``shed_above`` the API answers 429 to a request arriving while that many are
    being served (``Retry-After: 1`` unless ``shed_retry_after`` is false). ``options`` go to the
    emulator's constructor (e.g. revolv3's ``list_shape``). Data reads return deep copies. The
    vendor's own state changes are methods of ``api`` (``sandbox.api.pay(...)``): they are applied
    atomically and are visible to the next request.
    """

    def __init__(
        self,
        provider: str = "cybersource",
        invoices: int = 100,
        seed: int = 7,
        port: int = 0,
        latency: float = 0.0,
        *,
        latency_jitter: float = 0.0,
        shed_above: int | None = None,
        shed_retry_after: bool = True,
        **options: Any,
    ) -> None:
        if provider not in EMULATORS:
            raise ValueError(f"unknown provider {provider!r}; choose from {sorted(EMULATORS)}")
        if invoices < 0:
            raise ValueError("invoices must be >= 0")
        self.provider = provider
        self.seed = seed
        self.load = ServerLoad(
            latency,
            jitter=latency_jitter,
            shed_above=shed_above,
            shed_retry_after=shed_retry_after,
            seed=seed,
        )
        """The API's latency and load shedding, and every arrival it counted."""
        self._requested_port = port
        self._emulator = EMULATORS[provider](invoices=invoices, seed=seed, **options)
        self._limiter = RateLimiter(self._emulator.rate_limits)
        self._faults = FaultPlan(random.Random(f"{seed}:faults"))
        self._log = RequestLog()
        self._server: SandboxHTTPServer | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> Sandbox:
        """Bind and serve in a background thread; returns self for chaining."""
        if self._server is not None:
            raise RuntimeError("sandbox already running")
        server = SandboxHTTPServer(
            (HOST, self._requested_port),
            self._emulator,
            self._faults,
            self._log,
            self.load,
            limiter=self._limiter,
        )
        self._thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"sandbox-{self.provider}",
            daemon=True,
        )
        self._server = server
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving, end open connections and release the port (idempotent)."""
        server, thread = self._server, self._thread
        if server is None or thread is None:
            return
        server.shutdown()
        server.close_connections()
        server.server_close()
        thread.join()
        self._server = self._thread = None

    def __enter__(self) -> Sandbox:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def port(self) -> int:
        """The bound port (useful with ``port=0``)."""
        if self._server is None:
            raise RuntimeError("sandbox not running; call start() first")
        return self._server.server_address[1]

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:<port>``, the tap's ``base_url`` setting."""
        return f"http://{HOST}:{self.port}"

    @property
    def api(self) -> Emulator:
        """The emulator itself: its vendor-specific state changes are what tests call."""
        return self._emulator

    @property
    def credentials(self) -> Any:
        """The credentials the sandbox accepts (a frozen dataclass per provider)."""
        return self._emulator.credentials

    def tap_config(self) -> dict[str, str]:
        """A complete tap config pointing at this sandbox."""
        return {"provider": self.provider, "base_url": self.base_url, **self._emulator.config()}

    def write_config(self, path: str | PathLike[str]) -> Path:
        """Write ``tap_config()`` as JSON; returns the path."""
        target = Path(path)
        target.write_text(json.dumps(self.tap_config(), indent=2) + "\n", encoding="utf-8")
        return target

    def invoice(self, invoice_id: str) -> dict[str, Any]:
        """The invoice as the detail endpoint serves it (minus per-response fields such as
        CyberSource's ``submitTimeUtc``); KeyError if unknown."""
        return self._emulator.invoice(invoice_id)

    def invoice_ids(self) -> list[str]:
        """All invoice ids, as strings, newest first."""
        return self._emulator.invoice_ids()

    @property
    def requests(self) -> list[RequestRecord]:
        """Every request served so far, in the order they were answered."""
        return self._log.records()

    def clear_requests(self) -> None:
        """Forget the logged requests."""
        self._log.clear()

    def detail_requests(self) -> list[str]:
        """Invoice ids requested on the detail endpoint, in order, with repeats."""
        return [r.invoice_id for r in self._log.records() if r.kind == "detail" and r.invoice_id]

    def on_request(self, callback: Listener) -> None:
        """Call ``callback(incoming)`` before each request is served (e.g. to change data
        mid-sync; requests refused by the rate limits are not served, so not announced); if it
        raises, the request gets a 500 and the error lands in ``errors``."""
        self._log.listen(callback)

    @property
    def errors(self) -> list[BaseException]:
        """Sandbox-side failures (bugs or raising callbacks), each answered with a 500."""
        return self._log.errors()

    def inject(self, fault: Fault) -> None:
        """Arm a fault; faults are tried in the order they were injected."""
        self._faults.add(fault)

    def clear_faults(self) -> None:
        """Disarm every fault."""
        self._faults.clear()
