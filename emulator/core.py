# The Emulator: wires the surfaces to shared state and runs one HTTPS server per surface
# (docs/emulator.md, "In-process API"). Azure behaviour lives in the surface modules.
from __future__ import annotations

import shutil
import tempfile
import threading
from pathlib import Path
from types import TracebackType

from emulator.arm import ArmSurface
from emulator.control import ControlSurface
from emulator.directory import Directory
from emulator.entra import EntraSurface
from emulator.eventgrid import EventGrid
from emulator.faults import Counters, Faults
from emulator.graph import GraphSurface
from emulator.httpd import HttpsServer
from emulator.keyvault import KeyVaultSurface
from emulator.managed_identity import ManagedIdentitySurface
from emulator.otlp import OtlpSurface
from emulator.seed import Seed
from emulator.surface import Context, Surface
from emulator.tls import EmulatorTls
from emulator.tokens import TokenService

MODES = ("keyvault", "federated-managed-identity", "managed-identity")


class Emulator:
    """Local HTTPS stand-in for managed identity, Entra ID, Key Vault, ARM and Graph."""

    def __init__(self, *, state_dir: str | Path | None = None, seed: Seed | None = None) -> None:
        self.seed = seed or Seed()
        self._own_state_dir = state_dir is None
        self.state_dir = Path(state_dir) if state_dir is not None else Path(tempfile.mkdtemp(prefix="emulator-"))
        self.context = Context(
            seed=self.seed,
            tokens=TokenService(self.seed.tenant_id, lambda: self.context.url("login")),
            directory=Directory(self.seed),
            events=EventGrid(topic=self.seed.vault_resource_id),
        )
        ctx = self.context
        self.directory = ctx.directory  # app registrations: shared by Entra and Graph
        self.eventgrid = ctx.events  # Key Vault's system topic and its subscriptions
        self.identity = ManagedIdentitySurface(ctx)
        self.entra = EntraSurface(ctx)
        self.keyvault = KeyVaultSurface(ctx)
        self.arm = ArmSurface(ctx)
        self.graph = GraphSurface(ctx)
        self.otlp = OtlpSurface(ctx)  # not Azure: receives the function's OTLP exports (make demo, tests)
        self.control = ControlSurface(self)
        self._surfaces: list[Surface] = [self.identity, self.entra, self.keyvault, self.arm, self.graph, self.control]
        self._surfaces.insert(-1, self.otlp)
        self._servers: list[HttpsServer] = []
        self._lock = threading.Lock()
        self._ca_bundle: Path | None = None
        self.reset()

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> Emulator:
        """Starts every HTTPS server on 127.0.0.1 (ephemeral ports); idempotent."""
        with self._lock:
            if self._servers:
                return self
            tls = EmulatorTls()
            # Absolute: the path goes into env files and other processes with their own working directory.
            self._ca_bundle = tls.write_ca(self.state_dir).resolve()
            context = tls.server_context()
            self.context.stopping.clear()
            self.eventgrid.start()
            servers = [HttpsServer(s.name, s.handle, context) for s in self._surfaces]
            # All ports are known before anyone serves: surfaces name each other's origins.
            self.context.urls.update({server.surface_name: server.origin for server in servers})
            for server in servers:
                server.start()
            self._servers = servers
        return self

    def stop(self) -> None:
        with self._lock:
            self.context.stopping.set()  # wakes requests sleeping in an injected delay
            self.eventgrid.stop()  # and deliveries waiting to retry
            for server in self._servers:
                server.stop()
            self._servers = []
            self.context.urls.clear()
            if self._own_state_dir:
                shutil.rmtree(self.state_dir, ignore_errors=True)

    def reset(self) -> None:
        """Back to the seed state; clears faults and counters; keeps ports and CA."""
        self.faults.clear()
        self.eventgrid.reset()
        self.directory.reset()  # before keyvault: the seed certificate registers on the app
        for surface in (self.entra, self.keyvault, self.arm, self.graph, self.identity, self.otlp):
            surface.reset()
        self.counters.clear()

    def __enter__(self) -> Emulator:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    # ------------------------------------------------------------------ facts for clients
    @property
    def counters(self) -> Counters:
        return self.context.counters

    @property
    def faults(self) -> Faults:
        return self.context.faults

    @property
    def urls(self) -> dict[str, str]:
        if not self.context.urls:
            raise RuntimeError("the emulator is not started")
        return dict(self.context.urls)

    @property
    def ca_bundle(self) -> str:
        if self._ca_bundle is None:
            raise RuntimeError("the emulator is not started")
        return str(self._ca_bundle)

    @property
    def env(self) -> dict[str, str]:
        return self.env_for("keyvault")

    def telemetry_env(self) -> dict[str, str]:
        """Settings that send the function's traces, metrics and logs to the OTLP receiver, promptly."""
        return telemetry_env(self.urls["otlp"], self.ca_bundle)

    def env_for(self, mode: str) -> dict[str, str]:
        """Settings for the function app in `mode` (docs/emulator.md, "Environment")."""
        if mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}")
        urls, seed = self.urls, self.seed
        env = {
            "IDENTITY_ENDPOINT": self.identity.endpoint,
            "IDENTITY_HEADER": self.identity.identity_header,
            "AZURE_AUTHORITY_HOST": urls["login"],
            "ENTRA_TENANT_ID": seed.tenant_id,
            "ENTRA_CLIENT_ID": seed.client_id,
            "ENTRA_APPLICATION_OBJECT_ID": seed.app_object_id,
            # The deployment always sets the rollover timer's schedule (unset it is daily anyway).
            "ROLLOVER_SCHEDULE": "0 0 3 * * *",
            "KEY_VAULT_URL": urls["vault"] + "/",
            "KEY_VAULT_CERTIFICATE_NAME": seed.certificate_name,
            "KEY_VAULT_VERIFY_CHALLENGE_RESOURCE": "false",
            "ARM_ENDPOINT": urls["management"],
            "GRAPH_ENDPOINT": urls["graph"],
            "COSMOS_ACCOUNT_IDS": ",".join(seed.cosmos_account_id(name) for name in seed.cosmos_accounts),
            # Every other seeded key resource (docs/emulator.md "Resource keys").
            "RESOURCE_KEYS": seed.resource_keys,
            "REQUESTS_CA_BUNDLE": self.ca_bundle,
            "SSL_CERT_FILE": self.ca_bundle,
            # Not an OTEL_* variable: telemetry stays off unless a run opts in (telemetry_env()).
            "EMULATOR_OTLP_ENDPOINT": urls["otlp"],
            "EMULATOR_CONTROL_URL": urls["control"],
        }
        if mode == "federated-managed-identity":
            env["CREDENTIAL_MODE"] = mode
            env["AZURE_CLIENT_ID"] = seed.user_mi_client_id
        elif mode == "managed-identity":
            env["CREDENTIAL_MODE"] = mode
            for name in (
                "ENTRA_TENANT_ID",
                "ENTRA_CLIENT_ID",
                "ENTRA_APPLICATION_OBJECT_ID",
                "KEY_VAULT_URL",
                "KEY_VAULT_CERTIFICATE_NAME",
                "KEY_VAULT_VERIFY_CHALLENGE_RESOURCE",
            ):
                del env[name]
        return env


def telemetry_env(otlp_endpoint: str, ca_bundle: str) -> dict[str, str]:
    """OTLP/HTTP to ``otlp_endpoint`` (trusting the emulator's CA), every trace sampled, short delays."""
    return {
        "OTEL_EXPORTER_OTLP_ENDPOINT": otlp_endpoint,
        "OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf",
        "OTEL_EXPORTER_OTLP_CERTIFICATE": ca_bundle,
        "OTEL_TRACES_SAMPLER": "always_on",
        "OTEL_BSP_SCHEDULE_DELAY": "200",
        "OTEL_BLRP_SCHEDULE_DELAY": "200",
        "OTEL_METRIC_EXPORT_INTERVAL": "1000",
        "APPLICATIONINSIGHTS_STATSBEAT_DISABLED_ALL": "true",
    }
