# TLS for the emulator: one CA per run (trustme), one server certificate for 127.0.0.1 and
# localhost shared by every surface. The CA certificate (public) is written to the state
# directory so clients can trust it through REQUESTS_CA_BUNDLE / SSL_CERT_FILE; no private
# key is ever written to disk (trustme keeps it in memory and hands it to `ssl` directly).
from __future__ import annotations

import ssl
from pathlib import Path

import trustme


class EmulatorTls:
    def __init__(self) -> None:
        self._ca = trustme.CA(organization_name="Keyvault assertion broker emulator")
        self._leaf = self._ca.issue_cert("127.0.0.1", "localhost")

    def write_ca(self, directory: Path) -> Path:
        directory.mkdir(parents=True, exist_ok=True)
        path = directory / "ca.pem"
        path.write_bytes(self._ca.cert_pem.bytes())
        return path

    def server_context(self) -> ssl.SSLContext:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        self._leaf.configure_cert(context)
        return context
