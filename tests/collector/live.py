"""A real collector on 127.0.0.1: uvicorn in a thread over a real DuckDB file (the ``server`` fixture)."""

from __future__ import annotations

import datetime
import ipaddress
import socket
import ssl
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import uvicorn
from starlette.types import ASGIApp

from utmost.collector import create_app
from utmost.store import Store

TOKEN, SECRET = "test-token", "test-secret"
#: The fixtures' service account and ``?project_id=``; utmost's project id is the project name.
PROJECT = "123456"
SA_USER, SA_SECRET = "test-sa.mp-service-account", "test-sa-secret"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class Server:
    url: str
    store: Store
    client: httpx.Client

    def events(self, project: str = PROJECT, columns: str = "*") -> list[dict]:
        cursor = self.store.reader().execute(
            f"SELECT {columns} FROM events WHERE project = ? ORDER BY seq", [project]
        )
        names = [d[0] for d in cursor.description]
        return [dict(zip(names, row)) for row in cursor.fetchall()]


@contextmanager
def serving(app: ASGIApp) -> Iterator[str]:
    """``app`` under uvicorn in a thread on a free port of 127.0.0.1; yields its URL."""
    port = free_port()
    running = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=running.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not running.started:
        assert time.monotonic() < deadline, "the server did not start"
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        running.should_exit = True
        thread.join()


def running_server(tmp_path: Path) -> Iterator[Server]:
    """A collector with the fixtures' project (token, secret, service account) and ``other``."""
    with Store(tmp_path / "collector.duckdb") as store:
        store.create_project(PROJECT, TOKEN, SECRET)
        store.create_service_account(PROJECT, SA_USER, SA_SECRET)
        store.create_project("other", "other-token", "other-secret")
        with serving(create_app(store)) as url, httpx.Client(base_url=url, timeout=30) as client:
            yield Server(url, store, client)


def self_signed(folder: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 signed by its own key, as PEM files in ``folder``: (cert, key).

    Made with ``cryptography`` (a test dependency), not the ``openssl`` command, which a machine
    need not have. A client trusts it as its own authority (``NODE_EXTRA_CA_CERTS``, ``verify=``).
    """
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5)).not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    return cert_path, key_path


def start_server(db: Path, port: int, tls: tuple[Path, Path] | None = None, options: tuple[str, ...] = ()) -> subprocess.Popen:
    """``utmost serve`` in a process of its own on ``port``, its output in ``DB.log``; returns once it answers.

    ``tls``: the (cert, key) it serves HTTPS with, which the wait for its answer trusts;
    ``options``: more of the command's options.
    """
    log = db.with_suffix(".log")
    https = ["--tls-cert", str(tls[0]), "--tls-key", str(tls[1])] if tls else []
    with open(log, "ab") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", "utmost", "serve", "--db", str(db), "--port", str(port), *https, *options],
            stdout=output, stderr=output,
        )
    url = f"{'https' if tls else 'http'}://127.0.0.1:{port}/healthz"
    verify = ssl.create_default_context(cafile=tls[0]) if tls else True
    deadline = time.monotonic() + 30
    while True:
        try:
            if httpx.get(url, verify=verify).status_code == 200:
                return process
        except httpx.TransportError:
            pass
        assert process.poll() is None, log.read_text()
        assert time.monotonic() < deadline, "utmost serve did not start"
        time.sleep(0.05)
