"""Device-bound sessions (DBSC) with the real thing: Debian's Chromium registers, and refreshes by signing.

What this Chromium needs (found by trying, see the README): the DBSC feature without origin-trial
tokens or refresh quotas, software keys (no TPM here), and HTTPS with a certificate it trusts:
it ignored the registration header over ``http://localhost`` and with ``--ignore-certificate-errors``.
So the test makes a private CA with ``cryptography``, puts it in the NSS database of a private
``HOME`` (``certutil``), and serves ``passgate serve`` through a small TLS front on loopback.
"""

from __future__ import annotations

import asyncio
import datetime
import ipaddress
import os
import shutil
import ssl
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from playwright.sync_api import Browser, Playwright, expect

from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS, TIMEOUT_MS
from tests.e2e.api import COOKIE, assert_problem, register
from tests.nodes import Node, free_port, wait_until

PASSWORD = "correct horse"
BOUND = "__Host-passgate-bound"
DBSC_FEATURES = ("--enable-features=DeviceBoundSessions:RequireOriginTrialTokens/false/RefreshQuota/false,"
                 "EnableBoundSessionCredentialsSoftwareKeysForManualTesting")


def _certificate(subject: str, key: ec.EllipticCurvePrivateKey, issuer: tuple[x509.Name, Any] | None,
                 *, ca: bool) -> x509.Certificate:
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)])
    issuer_name, issuer_key = issuer or (name, key)
    now = datetime.datetime.now(datetime.UTC)
    builder = (x509.CertificateBuilder().subject_name(name).issuer_name(issuer_name).public_key(key.public_key())
               .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(hours=1))
               .not_valid_after(now + datetime.timedelta(days=2))
               .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True))
    if not ca:
        builder = builder.add_extension(x509.SubjectAlternativeName(
            [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
        builder = builder.add_extension(x509.ExtendedKeyUsage([x509.OID_SERVER_AUTH]), critical=False)
    return builder.sign(issuer_key, hashes.SHA256())


@pytest.fixture(scope="module")
def tls(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, ssl.SSLContext]:
    """A private CA that a private HOME's NSS database trusts, and a server context for ``localhost``."""
    if shutil.which("certutil") is None:
        pytest.fail("certutil is missing: `apt-get install libnss3-tools` (scripts/ensure-servers.sh does)",
                    pytrace=False)
    folder = tmp_path_factory.mktemp("dbsc-tls")
    ca_key, key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca = _certificate("passgate test CA", ca_key, None, ca=True)
    server = _certificate("localhost", key, (ca.subject, ca_key), ca=False)
    (folder / "ca.pem").write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    (folder / "server.pem").write_bytes(server.public_bytes(serialization.Encoding.PEM))
    (folder / "server.key").write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                                          serialization.PrivateFormat.PKCS8,
                                                          serialization.NoEncryption()))
    nssdb = folder / "home" / ".pki" / "nssdb"
    nssdb.mkdir(parents=True)
    subprocess.run(["certutil", "-d", f"sql:{nssdb}", "-N", "--empty-password"], check=True)
    subprocess.run(["certutil", "-d", f"sql:{nssdb}", "-A", "-t", "C,,", "-n", "passgate-test-ca",
                    "-i", str(folder / "ca.pem")], check=True)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(folder / "server.pem", folder / "server.key")
    return folder / "home", context


class TlsFront:
    """HTTPS on a loopback port, each connection piped to the plain-HTTP node (the proxy a deployment has)."""

    def __init__(self, context: ssl.SSLContext, backend_port: int) -> None:
        self.context, self.backend_port, self.port = context, backend_port, free_port()
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.open: set[asyncio.StreamWriter] = set()

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        except (ConnectionError, ssl.SSLError):
            pass
        finally:
            writer.close()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.backend_port)
        self.open |= {writer, up_writer}
        await asyncio.gather(self._pipe(reader, up_writer), self._pipe(up_reader, writer))
        self.open -= {writer, up_writer}

    async def _shutdown(self) -> None:
        self.server.close()
        for writer in list(self.open):
            writer.close()
        await asyncio.sleep(0.1)

    def start(self) -> TlsFront:
        self.thread.start()
        future = asyncio.run_coroutine_threadsafe(
            asyncio.start_server(self._serve, "127.0.0.1", self.port, ssl=self.context), self.loop)
        self.server = future.result(10)
        return self

    def stop(self) -> None:
        asyncio.run_coroutine_threadsafe(self._shutdown(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        self.loop.close()


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory, tls: tuple[Path, ssl.SSLContext]) -> Iterator[tuple[Node, str]]:
    port = free_port()
    public = f"https://localhost:{port}"
    node = Node(tmp_path_factory.mktemp("dbsc"), "--dbsc", "on", "--public-url", public,
                "--login-limit", "100/5m").start()
    front = TlsFront(tls[1], node.port)
    front.port = port
    front.start()
    yield node, public
    front.stop()
    node.stop()


@pytest.fixture(scope="module")
def dbsc_browser(playwright: Playwright, tls: tuple[Path, ssl.SSLContext]) -> Iterator[Browser]:
    env: dict[str, str | float | bool] = {**os.environ, "HOME": str(tls[0])}
    browser = playwright.chromium.launch(executable_path=CHROMIUM, args=[*CHROMIUM_ARGS, DBSC_FEATURES],
                                         headless=True, env=env)
    yield browser
    browser.close()


def test_chromium_binds_its_session_and_refreshes_it_by_signing(
    dbsc_browser: Browser, site: tuple[Node, str], artifacts: Path,
) -> None:
    node, public = site
    with node.client() as client:
        name, _ = register(client, password=PASSWORD)
    context = dbsc_browser.new_context(base_url=public, viewport={"width": 1100, "height": 760})
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    page.goto("/login")
    page.fill("input[name=username]", name)
    page.fill("input[name=password]", PASSWORD)
    page.click("form button[type=submit] >> nth=0")

    def bound_cookie() -> str | None:
        return next((c["value"] for c in context.cookies() if c["name"] == BOUND), None)

    wait_until(lambda: bound_cookie() is not None, TIMEOUT_MS / 1000)  # Chromium registered its key
    me = page.evaluate("fetch('/api/me').then(r => r.json())")
    assert me["bound"] is True and me["username"] == name
    page.goto("/account/sessions")
    expect(page.locator(".tag.bound")).to_have_count(1)
    page.screenshot(path=artifacts / "dbsc.png", full_page=True)

    # The session cookie copied out of the browser is refused anywhere else.
    long = next(c["value"] for c in context.cookies() if c["name"] == COOKIE)
    with httpx.Client(base_url=node.url) as thief:
        assert_problem(thief.get("/api/me", headers={"Cookie": f"{COOKIE}={long}"}), 401, "dbsc_required")

    # Without its bound cookie, Chromium holds the request, signs a challenge, and carries on.
    context.clear_cookies(name=BOUND)
    assert bound_cookie() is None
    again = page.evaluate("fetch('/api/me').then(r => r.status)")
    assert again == 200  # without a refresh it would be 401 dbsc_required
    assert bound_cookie() is not None
    context.close()
