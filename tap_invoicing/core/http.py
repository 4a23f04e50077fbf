"""The run's HTTP transport, shared by every provider: one pooled session that

- never follows a redirect: requests would resend the signature or token (and the merchant id)
  to whatever host the ``Location`` names, even over plain http; a 3xx ends the run instead;
- holds each response to a deadline: ``request_timeout`` bounds the whole response, from the
  request sent to its last byte, not each socket read (a server sending a byte every second
  would otherwise hold a worker as long as it liked);
- ends the run at once when its first request finds the host refusing connections or its name
  not resolving: retrying a wrong ``base_url`` for two minutes helps no one.
"""

from __future__ import annotations

import http.client
import io
import socket
import time
from collections.abc import Iterator
from functools import partial
from http import HTTPStatus
from typing import Any
from urllib.parse import urljoin, urlsplit

import requests
import urllib3
from requests.adapters import HTTPAdapter
from typing_extensions import override
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import ReadTimeoutError

from tap_invoicing.errors import HostUnreachableError, RedirectRefusedError

DEFAULT_PORTS = {"http": 80, "https": 443}


def describe_prepared(request: requests.PreparedRequest) -> str:
    """``GET /path`` of a request: no query, no headers, no credentials."""
    return f"{request.method} {urlsplit(request.url or '').path}"


def host_and_port(url: str) -> str:
    """``host:port`` of a URL: never its user info, path or query."""
    parts = urlsplit(url)
    host = parts.hostname or "an empty host"
    if ":" in host:
        host = f"[{host}]"
    try:
        port = parts.port or DEFAULT_PORTS.get(parts.scheme)
    except ValueError:  # a port out of range, in a Location the server made up
        port = None
    return f"{host}:{port}" if port else host


class _ReadsUntil(io.RawIOBase):
    """A socket's reads, each allowed only the time left before the response's deadline.

    It reads through the socket's own file object, which keeps the socket open while the
    response is read even after http.client has closed the connection (``Connection: close``).
    """

    def __init__(self, sock: socket.socket, deadline: float) -> None:
        super().__init__()
        self._sock = sock
        self._file = sock.makefile("rb", buffering=0)
        self._deadline = deadline

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int | None:
        left = self._deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError("the response did not arrive whole within the timeout")
        self._sock.settimeout(left)
        return self._file.readinto(buffer)

    def close(self) -> None:
        self._file.close()
        super().close()


class _DeadlineSocket:
    """What http.client's response needs of its socket (``makefile``), read against a deadline."""

    def __init__(self, sock: socket.socket, deadline: float) -> None:
        self._sock = sock
        self._deadline = deadline

    def makefile(self, mode: str) -> io.BufferedReader:
        return io.BufferedReader(_ReadsUntil(self._sock, self._deadline))


class _DeadlineResponse(http.client.HTTPResponse):
    """An http.client response whose every read, headers and body, shares one deadline."""

    def __init__(self, sock: socket.socket, *args: Any, deadline: float, **kwargs: Any) -> None:
        reads: Any = _DeadlineSocket(sock, deadline)  # http.client only calls its makefile()
        super().__init__(reads, *args, **kwargs)


class _DeadlineHTTPConnection(HTTPConnection):
    """A connection whose response to each request must be complete within the read timeout
    (urllib3 sets ``timeout`` to it just before reading the response)."""

    @override
    def getresponse(  # type: ignore[override]  # urllib3's own override narrows it the same way
        self,
    ) -> urllib3.response.HTTPResponse:
        timeout = self.timeout
        response_class: Any = (
            http.client.HTTPResponse
            if not isinstance(timeout, float | int)
            else partial(_DeadlineResponse, deadline=time.monotonic() + timeout)
        )
        self.response_class = response_class
        return super().getresponse()


class _DeadlineHTTPSConnection(_DeadlineHTTPConnection, HTTPSConnection):
    """The same over TLS."""


class _DeadlineHTTPPool(HTTPConnectionPool):
    ConnectionCls = _DeadlineHTTPConnection


class _DeadlineHTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _DeadlineHTTPSConnection


DEADLINE_POOLS = {"http": _DeadlineHTTPPool, "https": _DeadlineHTTPSPool}


class _DeadlineAdapter(HTTPAdapter):
    """requests' adapter over connections that hold each response to its deadline, direct or
    through an http(s) proxy (a SOCKS proxy keeps urllib3's own connections, so per-read
    timeouts only)."""

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = DEADLINE_POOLS

    def proxy_manager_for(self, proxy: str, **proxy_kwargs: Any) -> urllib3.PoolManager:
        manager: urllib3.PoolManager = super().proxy_manager_for(proxy, **proxy_kwargs)
        if not proxy.lower().startswith("socks"):
            manager.pool_classes_by_scheme = DEADLINE_POOLS
        return manager


def _causes(error: BaseException) -> Iterator[BaseException]:
    """An error and what it wraps: urllib3's ``reason``, then the exception chain."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = getattr(current, "reason", None) or current.__cause__ or current.__context__
        if not isinstance(current, BaseException):
            current = None


def unreachable_reason(error: requests.exceptions.ConnectionError) -> str | None:
    """Why the host itself cannot be reached, if that is what failed (not a proxy, not a
    connection lost after it was made)."""
    if isinstance(error, requests.exceptions.ProxyError):
        return None
    for cause in _causes(error):
        if isinstance(cause, ConnectionRefusedError):
            return "connection refused"
        if isinstance(cause, socket.gaierror):
            return "name does not resolve"
    return None


def _timed_out(error: requests.exceptions.ConnectionError) -> bool:
    """Whether a body read ran past the deadline (requests reports that as a ConnectionError)."""
    return any(isinstance(cause, ReadTimeoutError) for cause in _causes(error))


class ApiSession(requests.Session):
    """The session of a run: one connection pool for every worker, proxy and CA settings read
    from the environment once (requests would re-read them on every request, which cost more
    than signing it), no redirects, a deadline per response, and a fast failure when the first
    request cannot reach the host."""

    def __init__(self, *, pool_size: int, base_url: str) -> None:
        super().__init__()
        adapter = _DeadlineAdapter(pool_connections=1, pool_maxsize=pool_size)
        self.mount("https://", adapter)
        self.mount("http://", adapter)
        environment = self.merge_environment_settings(base_url, {}, None, None, None)
        self.proxies, self.verify = environment["proxies"], environment["verify"]
        self.trust_env = False
        self._answered = False

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:
        """Send without following redirects; a 3xx raises RedirectRefusedError."""
        kwargs["allow_redirects"] = False
        try:
            response = super().send(request, **kwargs)
        except requests.exceptions.ConnectionError as error:
            reason = unreachable_reason(error)
            if reason is not None and not self._answered:
                msg = (
                    f"cannot reach {host_and_port(request.url or '')} ({reason}): "
                    "check base_url / environment"
                )
                raise HostUnreachableError(msg) from error
            if _timed_out(error):
                msg = f"{describe_prepared(request)}: response not complete within the timeout"
                raise requests.exceptions.ReadTimeout(msg, request=request) from error
            raise
        self._answered = True
        if HTTPStatus.MULTIPLE_CHOICES <= response.status_code < HTTPStatus.BAD_REQUEST:
            raise RedirectRefusedError(self._redirect_message(request, response))
        return response

    @staticmethod
    def _redirect_message(request: requests.PreparedRequest, response: requests.Response) -> str:
        location = response.headers.get("Location")
        target = (
            f"to {host_and_port(urljoin(request.url or '', location))}"
            if location
            else "without a Location"
        )
        return (
            f"{describe_prepared(request)} was redirected (HTTP {response.status_code}) "
            f"{target}: not followed (credentials are never sent across a redirect); "
            "check base_url"
        )
