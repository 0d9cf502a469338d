"""Proxies and CA trust are still honoured after ``trust_env`` was turned off for speed.

The downstream clients read ``HTTPS_PROXY``/``NO_PROXY`` and ``REQUESTS_CA_BUNDLE`` once, when they
are built (``shared/outbound_session.py``). These tests put a real CONNECT proxy between the
function and the emulator and check where the ARM and Graph calls went.
"""

from __future__ import annotations

import contextlib
import select
import socket
import socketserver
import threading
from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest
import requests

from shared.upstream.session import session_for

pytestmark = pytest.mark.e2e


class _Tunnel(socketserver.BaseRequestHandler):
    """HTTP CONNECT, then bytes both ways until either side closes (RFC 9110 §9.3.6)."""

    def handle(self) -> None:
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = self.request.recv(4096)
            if not chunk:
                return
            head += chunk
        method, target, _ = head.split(b"\r\n", 1)[0].decode("ascii").split(" ", 2)
        if method != "CONNECT":
            self.request.sendall(b"HTTP/1.1 405 Method Not Allowed\r\nContent-Length: 0\r\n\r\n")
            return
        host, port = target.rsplit(":", 1)
        self.server.targets.append(target)  # type: ignore[attr-defined]
        with socket.create_connection((host, int(port)), timeout=10) as upstream:
            self.request.sendall(b"HTTP/1.1 200 Connection Established\r\n\r\n")
            sockets = [self.request, upstream]
            while True:
                readable, _, _ = select.select(sockets, [], [], 10)
                if not readable:
                    return
                for sock in readable:
                    data = sock.recv(65536)
                    if not data:
                        return
                    (upstream if sock is self.request else self.request).sendall(data)


@contextlib.contextmanager
def connect_proxy() -> Iterator[tuple[str, list[str]]]:
    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), _Tunnel)
    server.daemon_threads = True
    server.targets = []  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", server.targets  # type: ignore[attr-defined]
    finally:
        server.shutdown()
        server.server_close()


def _netloc(url: str) -> str:
    return urlsplit(url).netloc


def test_arm_and_graph_calls_go_through_https_proxy(configure, emu):
    with connect_proxy() as (proxy, targets):
        client = configure(HTTPS_PROXY=proxy)
        assert client.get("cosmos/cosmos-orders/keys").status_code == 200
        assert client.get("graph/users", limit="3").status_code == 200
    assert _netloc(emu.urls["management"]) in targets
    assert _netloc(emu.urls["graph"]) in targets


def test_no_proxy_exempts_the_hosts_it_names(configure, emu):
    # requests matches an IP host against NO_PROXY entries without their port (requests.utils.
    # should_bypass_proxies); every emulator surface is on 127.0.0.1, so this exempts them all.
    with connect_proxy() as (proxy, targets):
        client = configure(https_proxy=proxy, no_proxy="127.0.0.1")
        assert client.get("cosmos/cosmos-orders/keys").status_code == 200
    assert targets == []


def test_an_unreachable_proxy_is_a_502_naming_the_upstream(configure, emu):
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    client = configure(HTTPS_PROXY=f"http://127.0.0.1:{port}")
    response = client.get("cosmos/cosmos-orders/keys")
    assert response.status_code == 502, response.text
    assert response.json()["upstream"] == "managed-identity"  # the first call of the chain


def test_proxy_and_ca_bundle_are_read_once_when_the_session_is_built(monkeypatch, tmp_path):
    bundle = tmp_path / "ca.pem"
    bundle.write_text("")
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.example:3128")
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(bundle))
    session = session_for("https://management.azure.com")
    assert session.trust_env is False  # requests no longer walks the environment per request
    assert session.proxies["https"] == "http://proxy.example:3128"
    assert session.verify == str(bundle)
    monkeypatch.setenv("HTTPS_PROXY", "http://elsewhere.example:1")
    assert session.proxies["https"] == "http://proxy.example:3128"
    # What requests itself would have merged for this request, had it read the environment:
    merged = requests.Session().merge_environment_settings("https://management.azure.com/x", {}, None, None, None)
    assert merged["proxies"]["https"] == "http://elsewhere.example:1"


def test_no_proxy_for_the_origin_means_no_proxy(monkeypatch):
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.example:3128")
    monkeypatch.setenv("NO_PROXY", ".azure.com")
    assert session_for("https://management.azure.com").proxies == {}
