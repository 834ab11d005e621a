"""A small deployment on one machine: deploy/nginx.conf with TLS in front of app processes.

nginx runs from its Debian package as a foreground process with everything
(configuration, certificate, logs, pid, temporary files) in a temporary
directory and on free ports of 127.0.0.1. The certificate is self-signed, made
here; the test's client trusts exactly that certificate. The client connects
from 127.0.0.2 (any 127/8 address is the loopback interface on Linux), so the
address the app records tells the client (127.0.0.2) from nginx (127.0.0.1).
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
import shutil
import ssl
import subprocess
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import jinja2
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

ROOT = Path(__file__).resolve().parents[2]
NGINX_CONF = ROOT / "deploy" / "nginx.conf"
DEFAULT_NGINX = "/usr/sbin/nginx"
PROXY_ADDRESS = "127.0.0.1"
CLIENT_ADDRESS = "127.0.0.2"
START_TIMEOUT = 15.0


def nginx_binary(environ: dict[str, str] | os._Environ[str] = os.environ) -> str:
    """The nginx to run; skips the test without one, or fails if CLOUDCX_REQUIRE_NGINX=1."""
    path = environ.get("CLOUDCX_NGINX", DEFAULT_NGINX)
    if os.access(path, os.X_OK):
        return path
    reason = f"nginx is not installed at {path} (apt-get install nginx, or set CLOUDCX_NGINX)"
    if environ.get("CLOUDCX_REQUIRE_NGINX") == "1":
        pytest.fail(f"{reason}; CLOUDCX_REQUIRE_NGINX=1 requires the nginx test to run")
    pytest.skip(reason)


def self_signed_certificate(directory: Path, names: Sequence[str]) -> tuple[Path, Path]:
    """A certificate for ``names`` (IP addresses or DNS names) and its key, as PEM files."""
    key = ec.generate_private_key(ec.SECP256R1())
    alt_names: list[x509.GeneralName] = []
    for name in names:
        try:
            alt_names.append(x509.IPAddress(ipaddress.ip_address(name)))
        except ValueError:
            alt_names.append(x509.DNSName(name))
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, names[0])])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName(alt_names), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    key_path.chmod(0o600)
    return cert_path, key_path


def render_config(**values: Any) -> str:
    """deploy/nginx.conf with its placeholders filled; a missing value is an error."""
    env = jinja2.Environment(undefined=jinja2.StrictUndefined, autoescape=False)  # noqa: S701
    return env.from_string(NGINX_CONF.read_text()).render(**values)


@dataclass
class Proxy:
    base_url: str
    https_port: int
    http_port: int
    certificate: Path
    directory: Path
    process: subprocess.Popen[bytes]

    @property
    def error_log(self) -> Path:
        return self.directory / "error.log"

    @property
    def access_log(self) -> Path:
        return self.directory / "logs" / "access.log"

    def http(self, **kwargs: Any) -> httpx.Client:
        """A client that trusts only the test certificate and connects from CLIENT_ADDRESS."""
        verify = ssl.create_default_context(cafile=str(self.certificate))
        transport = httpx.HTTPTransport(verify=verify, local_address=CLIENT_ADDRESS)
        kwargs.setdefault("timeout", 10.0)
        return httpx.Client(base_url=self.base_url, transport=transport, trust_env=False, **kwargs)


def _nginx_command(nginx: str, directory: Path, conf: Path, *extra: str) -> list[str]:
    directives = f"daemon off; pid {directory / 'nginx.pid'};"
    return [nginx, "-p", f"{directory}/", "-c", str(conf), "-e", str(directory / "error.log"),
            "-g", directives, *extra]  # fmt: skip


@contextmanager
def running_nginx(
    nginx: str, upstreams: Sequence[str], https_port: int, http_port: int
) -> Iterator[Proxy]:
    # Outside pytest's private temporary directory: when the test runs as root,
    # nginx's workers run as www-data (the configuration's `user`) and need to
    # reach their temporary files.
    directory = Path(tempfile.mkdtemp(prefix="cloudcx-nginx-"))
    directory.chmod(0o755)
    try:
        (directory / "logs").mkdir()
        (directory / "state").mkdir()
        certificate, key = self_signed_certificate(directory, [PROXY_ADDRESS, "localhost"])
        conf = directory / "nginx.conf"
        conf.write_text(
            render_config(
                https_port=f"{PROXY_ADDRESS}:{https_port}",
                http_port=f"{PROXY_ADDRESS}:{http_port}",
                certificate=certificate,
                certificate_key=key,
                log_dir=directory / "logs",
                state_dir=directory / "state",
                upstreams=upstreams,
            )
        )
        checked = subprocess.run(
            _nginx_command(nginx, directory, conf, "-t"), capture_output=True, text=True,
            timeout=30, check=False,
        )  # fmt: skip
        assert checked.returncode == 0, f"nginx -t refused the configuration:\n{checked.stderr}"
        process = subprocess.Popen(
            _nginx_command(nginx, directory, conf),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=(directory / "stderr.log").open("wb"),
        )
        proxy = Proxy(
            f"https://{PROXY_ADDRESS}:{https_port}", https_port, http_port, certificate,
            directory, process,
        )  # fmt: skip
        try:
            _wait_until_serving(proxy)
            yield proxy
        finally:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)
    finally:
        shutil.rmtree(directory, ignore_errors=True)


def _wait_until_serving(proxy: Proxy) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    with proxy.http(timeout=2.0) as http:
        while time.monotonic() < deadline:
            if proxy.process.poll() is not None:
                break
            try:
                if http.get("/healthz").status_code == 200:
                    return
            except httpx.TransportError:
                time.sleep(0.1)
    log = proxy.error_log.read_text(errors="replace") if proxy.error_log.exists() else ""
    raise AssertionError(f"nginx did not serve /healthz in {START_TIMEOUT}s:\n{log}")
