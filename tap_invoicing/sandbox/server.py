"""The vendor-neutral HTTP layer: a threaded HTTP/1.1 server that logs each request, enforces the
API's rate limits, sheds load, runs the before-serving listeners, applies latency and faults, and
hands everything else to a backend."""

from __future__ import annotations

import contextlib
import socket
import sys
import threading
import time
import traceback
from collections.abc import Mapping
from dataclasses import dataclass, field
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Protocol
from urllib.parse import parse_qs

import simplejson

from tap_invoicing.sandbox.faults import Fault, FaultPlan
from tap_invoicing.sandbox.load import ServerLoad
from tap_invoicing.sandbox.ratelimit import RateLimiter
from tap_invoicing.sandbox.requestlog import IncomingRequest, RequestLog, RequestRecord

JSON_TYPE = "application/json;charset=utf-8"
GARBAGE_BODY = b"<html><head><title>502 Bad Gateway</title></head><body>upstream reset</body>"
SERVED_KINDS = frozenset({"truncate", "delay", "drip", "rewrite"})
"""Faults that shape the backend's own answer rather than replace it."""
CLIENT_GONE = (BrokenPipeError, ConnectionResetError, ConnectionAbortedError, TimeoutError)


@dataclass(frozen=True)
class ApiRequest:
    """A request as received: ``path`` and ``raw_query`` are the undecoded request target, which
    is what signatures are computed over."""

    method: str
    path: str
    raw_query: str
    headers: Message
    body: bytes

    @property
    def target(self) -> str:
        """The request target as sent on the request line."""
        return f"{self.path}?{self.raw_query}" if self.raw_query else self.path

    @property
    def query(self) -> dict[str, str]:
        """Query parameters, first value wins (blank values kept, so they can be rejected)."""
        return {k: v[0] for k, v in parse_qs(self.raw_query, keep_blank_values=True).items()}


@dataclass(frozen=True)
class ApiResponse:
    """A complete response, ready to be written (or cut short by a fault)."""

    status: int
    body: bytes
    content_type: str = JSON_TYPE
    headers: Mapping[str, str] = field(default_factory=dict)


def json_response(
    status: int,
    payload: Any,
    *,
    content_type: str = JSON_TYPE,
    headers: Mapping[str, str] | None = None,
) -> ApiResponse:
    """Encode with ``use_decimal`` so Decimal amounts keep their exact digits on the wire; text
    that UTF-8 cannot carry (a lone surrogate) goes out escaped, as a real API would send it."""
    try:
        body = simplejson.dumps(payload, use_decimal=True, ensure_ascii=False).encode()
    except UnicodeEncodeError:
        body = simplejson.dumps(payload, use_decimal=True).encode()
    return ApiResponse(status, body, content_type, headers or {})


@dataclass(frozen=True)
class RouteInfo:
    """How the request log classifies a request: ``kind`` is "list", "detail" or "other"."""

    kind: str
    invoice_id: str | None = None


class Backend(Protocol):
    """What the server needs from a vendor emulation."""

    def classify(self, method: str, path: str) -> RouteInfo:
        """Classify a request for the log without serving it."""
        ...

    def handle(self, request: ApiRequest) -> ApiResponse:
        """Serve a request normally (authentication included)."""
        ...

    def fault_response(self, status: int) -> ApiResponse:
        """The vendor's error body for an injected ``status`` fault."""
        ...

    def skeleton_response(self) -> ApiResponse:
        """A 200 whose JSON lacks every expected field, for ``missing_fields`` faults."""
        ...

    def rate_limited_response(self) -> ApiResponse:
        """The vendor's answer to a request over its rate limits."""
        ...


class SandboxHTTPServer(ThreadingHTTPServer):
    """One thread per connection; tracks open connections so ``stop`` can end keep-alive ones."""

    daemon_threads = True

    def __init__(
        self,
        address: tuple[str, int],
        backend: Backend,
        faults: FaultPlan,
        log: RequestLog,
        load: ServerLoad,
        *,
        limiter: RateLimiter,
    ) -> None:
        self.backend = backend
        self.faults = faults
        self.log = log
        self.load = load
        self.limiter = limiter
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()
        super().__init__(address, SandboxRequestHandler)

    def process_request(self, request: Any, client_address: Any) -> None:
        """Remember the connection before its thread starts."""
        with self._connections_lock:
            self._connections.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        """Forget the connection as it is closed."""
        with self._connections_lock:
            self._connections.discard(request)
        super().shutdown_request(request)

    def close_connections(self) -> None:
        """Shut down idle keep-alive sockets so their handler threads end and close them."""
        with self._connections_lock:
            connections = list(self._connections)
        for connection in connections:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client hanging up is routine here (timeouts, fault tests); report anything else."""
        if not isinstance(sys.exc_info()[1], CLIENT_GONE):
            super().handle_error(request, client_address)

    def record_error(self, error: BaseException) -> None:
        """Keep a sandbox-side failure visible to tests and print it for humans."""
        self.log.add_error(error)
        traceback.print_exception(error, file=sys.stderr)


class SandboxRequestHandler(BaseHTTPRequestHandler):
    """Turns each HTTP request into an ``ApiRequest`` and writes back the chosen response."""

    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body are separate writes; avoid 40 ms ACK stalls
    server_version = "tap-invoicing-sandbox"
    sys_version = ""
    server: SandboxHTTPServer

    def do_GET(self) -> None:
        """Serve GET."""
        self._serve()

    def do_POST(self) -> None:
        """Serve POST."""
        self._serve()

    def do_PUT(self) -> None:
        """Serve PUT."""
        self._serve()

    def do_PATCH(self) -> None:
        """Serve PATCH."""
        self._serve()

    def do_DELETE(self) -> None:
        """Serve DELETE."""
        self._serve()

    def log_message(self, format: str, *args: Any) -> None:
        """Stay quiet: the request log is the record, and test output stays readable."""

    def parse_request(self) -> bool:
        """Note the arrival as the request line is in: the latency counts from here, and so does
        the rate limiter, which sees every request that reaches the server."""
        self._arrived = time.monotonic()
        parsed = super().parse_request()
        self._admitted = self.server.limiter.admit(self._arrived)
        return parsed

    def _serve(self) -> None:
        shed = self.server.load.arrive()
        try:
            self._answer(shed=shed)
        finally:
            self.server.load.leave(shed=shed)

    def _answer(self, *, shed: bool) -> None:
        arrived = self._arrived
        path, _, raw_query = self.path.partition("?")
        try:
            request = ApiRequest(self.command, path, raw_query, self.headers, self._read_body())
        except ValueError:
            self.close_connection = True
            self._write(ApiResponse(400, b"bad request framing", "text/plain"))
            return
        server = self.server
        route = server.backend.classify(request.method, path)
        response: ApiResponse | None  # None: hang up without answering
        try:
            if shed:
                base = server.backend.fault_response(429)
                fault = None
                response = ApiResponse(
                    429, base.body, base.content_type, {**base.headers, **server.load.shed_headers}
                )
            elif self._admitted:
                server.log.notify(
                    IncomingRequest(
                        request.method, path, request.query, route.kind, route.invoice_id
                    )
                )
                fault = server.faults.pick(request.method, path, route.kind)
                response = self._respond(request, fault)
            else:
                # Refused before anything else sees it: no listener, fault or backend work.
                fault, response = None, server.backend.rate_limited_response()
            # The latency covers the sandbox's own work, as a real API's round trip covers its.
            latency = server.load.response_latency()
            time.sleep(max(0.0, arrived + latency - time.monotonic()))
        except Exception as error:
            server.record_error(error)
            fault, response = None, json_response(500, {"message": f"sandbox error: {error!r}"})
        if response is None or (fault is not None and fault.kind == "truncate"):
            self._log(request, route, arrived, 0)
            self.close_connection = True
            if response is not None:
                self._write(response, truncate=True)
            return
        self._log(request, route, arrived, response.status)
        self._write(response, drip=fault.seconds if fault and fault.kind == "drip" else None)

    def _log(self, request: ApiRequest, route: RouteInfo, arrived: float, status: int) -> None:
        """Log before writing, so a client holding the response always finds its request logged."""
        self.server.log.append(
            RequestRecord(
                request.method,
                request.path,
                request.query,
                status,
                arrived,
                route.kind,
                route.invoice_id,
            )
        )

    def _respond(self, request: ApiRequest, fault: Fault | None) -> ApiResponse | None:
        """The response for a request as shaped by the fault that fired; None means hang up."""
        backend = self.server.backend
        if fault is None or fault.kind in SERVED_KINDS:
            return self._served(request, fault)
        if fault.kind == "drop":
            return None
        if fault.kind == "status":
            base = backend.fault_response(fault.status)
            response = self._with_body(base, fault)
            return ApiResponse(
                fault.status,
                response.body,
                response.content_type,
                {**base.headers, **fault.headers},
            )
        base = (
            ApiResponse(200, GARBAGE_BODY)
            if fault.kind == "garbage"
            else backend.skeleton_response()
        )
        response = self._with_body(base, fault)
        return ApiResponse(200, response.body, response.content_type, dict(fault.headers))

    def _served(self, request: ApiRequest, fault: Fault | None) -> ApiResponse:
        """The backend's own answer: delayed, with the fault's body to drip, or rewritten."""
        if fault is not None and fault.kind == "delay":
            time.sleep(fault.seconds)
        served = self.server.backend.handle(request)
        if fault is not None and fault.kind == "drip":
            return self._with_body(served, fault)
        if fault is not None and fault.rewrite is not None:
            payload = simplejson.loads(served.body, use_decimal=True)
            rewritten = json_response(served.status, fault.rewrite(payload))
            return ApiResponse(served.status, rewritten.body, served.content_type, served.headers)
        return served

    @staticmethod
    def _with_body(base: ApiResponse, fault: Fault) -> ApiResponse:
        """``base`` with the fault's own body, if it has one."""
        if fault.body is None:
            return base
        if isinstance(fault.body, bytes):
            return ApiResponse(base.status, fault.body, base.content_type)
        if isinstance(fault.body, str):
            return ApiResponse(base.status, fault.body.encode(), base.content_type)
        return json_response(base.status, fault.body)

    def _read_body(self) -> bytes:
        """Read exactly the declared body, so the next keep-alive request is parsed in sync."""
        if self.headers.get("Transfer-Encoding"):
            raise ValueError("chunked request bodies are not supported")
        length = self.headers.get("Content-Length", "0").strip()
        if not length.isdigit():
            raise ValueError("bad Content-Length")
        return self.rfile.read(int(length))

    def _write(
        self, response: ApiResponse, *, truncate: bool = False, drip: float | None = None
    ) -> None:
        """Write status, headers and body (or half the body, then hang up; or the body one byte
        every ``drip`` seconds, until the client hangs up)."""
        body = response.body[: len(response.body) // 2] if truncate else response.body
        try:
            self.send_response(response.status)
            self.send_header("Content-Type", response.content_type)
            self.send_header("Content-Length", str(len(response.body)))
            for name, value in response.headers.items():
                self.send_header(name, value)
            self.end_headers()
            if drip is None:
                self.wfile.write(body)
            else:
                for position in range(len(body)):
                    time.sleep(drip)
                    self.wfile.write(body[position : position + 1])
            self.wfile.flush()
        except CLIENT_GONE:
            self.close_connection = True
