# Shared HTTP machinery for every emulated surface: one HTTPS server per surface on
# 127.0.0.1 (each Azure surface is its own host), request parsing and JSON responses.
# Follows RFC 9110/9112 for the wire; Azure-specific behaviour lives in the surface modules.
# Query strings are parsed with urllib's normal parser because azure-core does not
# percent-encode them (AZURE-PROTOCOLS.md 1.1, [V] capture t4).
from __future__ import annotations

import json
import logging
import socket
import socketserver
import ssl
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

_LOG = logging.getLogger("emulator.http")

JSON_UTF8 = "application/json; charset=utf-8"
_MAX_BODY = 1 << 20  # 1 MiB: every request the function sends is a few KiB at most


@dataclass
class Request:
    """One parsed request. Headers are case-insensitive (an `email.message.Message`)."""

    method: str
    target: str
    path: str
    query: dict[str, str]
    headers: Message
    body: bytes
    origin: str  # scheme://host[:port] the client addressed (from the Host header)

    def header(self, name: str, default: str | None = None) -> str | None:
        value = self.headers.get(name)
        return default if value is None else str(value)

    @property
    def url(self) -> str:
        """Absolute URL of the path the client called (no query)."""
        return self.origin + self.path

    def json(self) -> Any:
        return json.loads(self.body.decode("utf-8"))

    def form(self) -> dict[str, str]:
        """application/x-www-form-urlencoded body, first value of each field."""
        parsed = parse_qs(self.body.decode("utf-8"), keep_blank_values=True)
        return {key: values[0] for key, values in parsed.items()}

    def bearer(self) -> str | None:
        """The bearer token of `Authorization`, '' for a malformed header, None when absent."""
        value = self.header("Authorization")
        if value is None:
            return None
        scheme, _, token = value.strip().partition(" ")
        if scheme.lower() != "bearer":
            return ""
        return token.strip()


@dataclass
class Response:
    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)


def json_response(
    status: int,
    payload: Any,
    *,
    content_type: str = JSON_UTF8,
    headers: Mapping[str, str] | None = None,
) -> Response:
    body = json.dumps(payload, separators=(",", ":")).encode("utf-8")
    all_headers = {"Content-Type": content_type}
    all_headers.update(headers or {})
    return Response(status, body, all_headers)


Handler = Callable[[Request], Response]


def parse_query(raw: str) -> dict[str, str]:
    """First value of each query parameter; blank values kept (`limit=` is not absent)."""
    return {key: values[0] for key, values in parse_qs(raw, keep_blank_values=True).items()}


class _RequestHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as Azure front ends do; needs Content-Length
    # Headers and body go out in two writes: without TCP_NODELAY the body waits ~40 ms for the
    # client's delayed ACK on every kept-alive connection.
    disable_nagle_algorithm = True
    server: HttpsServer
    timeout = 60  # idle keep-alive connections do not pin a thread forever

    def log_message(self, format: str, *args: Any) -> None:
        # Never the query or headers: a query may carry a resource id, a header a token.
        command = getattr(self, "command", None) or "?"  # unset when the request line was unreadable
        _LOG.debug("%s %s -> %s", self.server.surface_name, command, args[1] if len(args) > 1 else "")

    def _handle(self) -> None:
        try:
            body = self._read_body()
        except ValueError as exc:
            self._send(Response(400, str(exc).encode(), {"Content-Type": "text/plain"}))
            return
        split = urlsplit(self.path)
        host = self.headers.get("Host") or "{}:{}".format(*self.server.server_address[:2])
        request = Request(
            method=self.command,
            target=self.path,
            path=split.path,
            query=parse_query(split.query),
            headers=self.headers,
            body=body,
            origin=f"https://{host}",
        )
        try:
            response = self.server.app(request)
        except Exception:  # a bug in a surface must surface as a 500, not a dropped socket
            _LOG.exception("unhandled error in %s", self.server.surface_name)
            response = json_response(500, {"error": {"code": "InternalError", "message": "emulator bug"}})
        self._send(response)

    def _read_body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks = []
            total = 0
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return b"".join(chunks)
                total += size
                if total > _MAX_BODY:
                    raise ValueError("body too large")
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        if length > _MAX_BODY:
            raise ValueError("body too large")
        return self.rfile.read(length) if length else b""

    def _send(self, response: Response) -> None:
        self.send_response(response.status)
        for name, value in response.headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(response.body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(response.body)

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = _handle


class HttpsServer(ThreadingHTTPServer):
    """A threaded HTTPS server bound to 127.0.0.1; the TLS handshake runs in the worker
    thread so one stuck client cannot block `accept` for everyone else."""

    daemon_threads = True
    request_queue_size = 128  # socketserver's 5 drops bursts of concurrent connects (retried ~1 s later)
    block_on_close = False  # stop() must not wait for a request sleeping in an injected delay

    def __init__(self, surface_name: str, app: Handler, ssl_context: ssl.SSLContext) -> None:
        self.surface_name = surface_name
        self.app = app
        self.ssl_context = ssl_context
        super().__init__(("127.0.0.1", 0), _RequestHandler)
        self._thread: threading.Thread | None = None

    def server_bind(self) -> None:
        # HTTPServer.server_bind does a reverse DNS lookup (getfqdn); skip it.
        socketserver.TCPServer.server_bind(self)
        self.server_name = "127.0.0.1"
        self.server_port = self.port

    @property
    def port(self) -> int:
        return int(self.server_address[1])

    @property
    def origin(self) -> str:
        return f"https://127.0.0.1:{self.port}"

    def finish_request(self, request: Any, client_address: Any) -> None:
        sock: socket.socket = request
        sock.settimeout(10)
        try:
            tls = self.ssl_context.wrap_socket(sock, server_side=True)
        except (OSError, ssl.SSLError):
            sock.close()
            return
        tls.settimeout(None)
        super().finish_request(tls, client_address)

    def handle_error(self, request: Any, client_address: Any) -> None:
        # Clients closing keep-alive sockets mid-read are normal; do not print tracebacks.
        _LOG.debug("connection error on %s", self.surface_name, exc_info=True)

    def start(self) -> None:
        self._thread = threading.Thread(
            target=self.serve_forever, kwargs={"poll_interval": 0.1}, name=f"emulator-{self.surface_name}"
        )
        self._thread.daemon = True
        self._thread.start()

    def stop(self) -> None:
        self.shutdown()
        self.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
