"""The session factory against a real TLS server on loopback (trustme PKI)."""

from __future__ import annotations

import socket
import ssl
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import trustme
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.serialization import pkcs12
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from segurlink._http import build_session, request_errors
from segurlink.config import Secret, Timeouts, TlsConfig
from segurlink.errors import ConfigurationError, TlsError, TransportError, TransportTimeout


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture(scope="module")
def client_files(ca: trustme.CA, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("client")
    leaf = ca.issue_cert("INSI-AUTO", common_name="INSI-AUTO")
    cert_pem = b"".join(b.bytes() for b in leaf.cert_chain_pems)
    key = serialization.load_pem_private_key(leaf.private_key_pem.bytes(), None)
    files = {
        "ca": d / "ca.pem",
        "cert": d / "client.pem",
        "key": d / "client.key",
        "enc_key": d / "client-enc.key",
        "p12": d / "client.p12",
    }
    ca.cert_pem.write_to_path(str(files["ca"]))
    files["cert"].write_bytes(cert_pem)
    leaf.private_key_pem.write_to_path(str(files["key"]))
    files["enc_key"].write_bytes(
        key.private_bytes(  # type: ignore[union-attr]
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.BestAvailableEncryption(b"pw"),
        )
    )
    files["p12"].write_bytes(
        pkcs12.serialize_key_and_certificates(
            b"insi",
            key,  # type: ignore[arg-type]
            x509.load_pem_x509_certificate(cert_pem),
            None,
            serialization.BestAvailableEncryption(b"p12pw"),
        )
    )
    return files


@pytest.fixture(scope="module")
def server(ca: trustme.CA) -> Iterator[HTTPServer]:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ca.issue_cert("localhost", "127.0.0.1").configure_cert(ctx)
    ca.configure_trust(ctx)
    ctx.verify_mode = ssl.CERT_REQUIRED
    srv = HTTPServer(host="localhost", port=0, ssl_context=ctx)
    srv.start()
    yield srv
    srv.clear()
    if srv.is_running():
        srv.stop()


@pytest.fixture(autouse=True)
def _reset(server: HTTPServer) -> Iterator[None]:
    server.clear()
    yield


def _peer_cn(request: Request) -> Response:
    sock = request.environ.get("werkzeug.socket")
    cert = sock.getpeercert() if sock is not None else None
    cn = dict(x[0] for x in cert["subject"])["commonName"] if cert else "none"
    return Response(cn)


@pytest.mark.parametrize(
    "identity",
    ["pem", "encrypted-pem", "pkcs12"],
)
def test_mutual_tls_with_each_identity_format(
    server: HTTPServer, client_files: dict[str, Path], identity: str
) -> None:
    server.expect_request("/whoami").respond_with_handler(_peer_cn)
    tls = {
        "pem": TlsConfig(cert=client_files["cert"], key=client_files["key"], ca_bundle=client_files["ca"]),
        "encrypted-pem": TlsConfig(
            cert=client_files["cert"], key=client_files["enc_key"],
            password=Secret("pw"), ca_bundle=client_files["ca"],
        ),
        "pkcs12": TlsConfig(pkcs12=client_files["p12"], password=Secret("p12pw"), ca_bundle=client_files["ca"]),
    }[identity]
    session = build_session(tls, Timeouts(2, 2))
    url = server.url_for("/whoami")
    with request_errors(url):
        response = session.get(url)
    assert response.text == "INSI-AUTO"


def test_wrong_password_is_a_configuration_error(client_files: dict[str, Path]) -> None:
    with pytest.raises(ConfigurationError, match="client certificate"):
        build_session(TlsConfig(pkcs12=client_files["p12"], password=Secret("bad")))
    with pytest.raises(ConfigurationError, match="client certificate"):
        build_session(TlsConfig(cert=client_files["cert"], key=client_files["enc_key"], password=Secret("bad")))


def test_server_not_signed_by_the_configured_ca_is_refused(
    server: HTTPServer, client_files: dict[str, Path], tmp_path: Path
) -> None:
    other = trustme.CA()
    other_ca = tmp_path / "other.pem"
    other.cert_pem.write_to_path(str(other_ca))
    session = build_session(
        TlsConfig(cert=client_files["cert"], key=client_files["key"], ca_bundle=other_ca)
    )
    url = server.url_for("/x")
    with pytest.raises(TlsError), request_errors(url):
        session.get(url)


def test_server_refuses_a_session_without_client_certificate(
    server: HTTPServer, client_files: dict[str, Path]
) -> None:
    session = build_session(TlsConfig(ca_bundle=client_files["ca"]), Timeouts(2, 2))
    url = server.url_for("/x")
    with pytest.raises((TlsError, TransportError)), request_errors(url):
        session.get(url)


def test_read_timeout_is_typed_and_prompt(server: HTTPServer, client_files: dict[str, Path]) -> None:
    release = threading.Event()

    def slow(_: Request) -> Response:
        release.wait(3)
        return Response("late")

    server.expect_request("/slow").respond_with_handler(slow)
    session = build_session(
        TlsConfig(cert=client_files["cert"], key=client_files["key"], ca_bundle=client_files["ca"]),
        Timeouts(connect=1, read=0.3),
    )
    url = server.url_for("/slow")
    started = time.monotonic()
    try:
        with pytest.raises(TransportTimeout), request_errors(url):
            session.get(url)
    finally:
        release.set()
    assert time.monotonic() - started < 2.5


def test_connection_refused_is_a_transport_error() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    session = build_session(TlsConfig(), Timeouts(1, 1))
    url = f"https://127.0.0.1:{port}/"
    with pytest.raises(TransportError) as info, request_errors(url):
        session.get(url)
    assert not isinstance(info.value, TransportTimeout)
    assert info.value.url == url


def test_sessions_never_disable_verification(client_files: dict[str, Path]) -> None:
    assert build_session(TlsConfig()).verify is True
    assert build_session(TlsConfig(ca_bundle=client_files["ca"])).verify == str(client_files["ca"])


# -- overall deadline: a server trickling bytes cannot hold a call past connect + read ------


def _trickling_server(
    tls_context: ssl.SSLContext | None, *, interval: float, stop: threading.Event
) -> int:
    """A raw server sending its status line and headers one byte every ``interval``."""
    listener = socket.create_server(("127.0.0.1", 0))
    answer = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nX-Pad: " + b"x" * 40 + b"\r\n\r\nok"

    def serve() -> None:
        with listener:
            listener.settimeout(5)
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            if tls_context is not None:
                conn = tls_context.wrap_socket(conn, server_side=True)
            with conn:
                conn.recv(65536)
                for byte in answer:
                    if stop.wait(interval):
                        return
                    try:
                        conn.sendall(bytes([byte]))
                    except OSError:
                        return

    threading.Thread(target=serve, daemon=True).start()
    return int(listener.getsockname()[1])


@pytest.mark.parametrize("scheme", ["https", "http"])
def test_a_trickling_server_is_cut_at_the_overall_deadline(
    ca: trustme.CA, client_files: dict[str, Path], scheme: str
) -> None:
    server_ctx = None
    if scheme == "https":
        server_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ca.issue_cert("127.0.0.1").configure_cert(server_ctx)
    stop = threading.Event()
    # ~70 bytes 0.1 s apart (7 s in all): each read gets a byte well within read=0.4 s.
    port = _trickling_server(server_ctx, interval=0.1, stop=stop)
    session = build_session(TlsConfig(ca_bundle=client_files["ca"]), Timeouts(connect=0.5, read=0.4))
    url = f"{scheme}://127.0.0.1:{port}/"
    started = time.monotonic()
    try:
        with pytest.raises(TransportTimeout), request_errors(url):
            session.get(url)
    finally:
        stop.set()
    assert time.monotonic() - started < 5.0  # the whole answer would take 7 s


def test_a_caller_timeout_sets_the_deadline_too(client_files: dict[str, Path]) -> None:
    stop = threading.Event()
    port = _trickling_server(None, interval=0.1, stop=stop)
    session = build_session(TlsConfig(ca_bundle=client_files["ca"]), Timeouts(connect=30, read=30))
    url = f"http://127.0.0.1:{port}/"
    try:
        with pytest.raises(TransportTimeout), request_errors(url):
            session.get(url, timeout=(0.5, 0.4))
    finally:
        stop.set()
