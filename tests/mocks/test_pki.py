"""The test PKI: files, shapes of the certificates, reuse across runs."""

from __future__ import annotations

import ipaddress
import ssl
import stat
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from segurlink_mocks.pki import CA_NAME, PASSWORD, STRUCTURE_NAME, STRUCTURE_OU, TestPki

EXPECTED_FILES = {
    "ca.pem",
    "ca.key",
    "server.pem",
    "server.key",
    "insi-auto.pem",
    "insi-auto.key",
    "insi-auto.p12",
    "insi-auto-encrypted.key",
    "insi-manu.pem",
    "insi-manu.key",
    "wrong-cn.pem",
    "wrong-cn.key",
    "other-ca.pem",
    "other-ca.key",
    "untrusted-client.pem",
    "untrusted-client.key",
}


def _cert(path: Path) -> x509.Certificate:
    return x509.load_pem_x509_certificate(path.read_bytes())


def _attr(name: x509.Name, oid: x509.ObjectIdentifier) -> str:
    return str(name.get_attributes_for_oid(oid)[0].value)


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> TestPki:
    return TestPki.create(tmp_path_factory.mktemp("pki"))


def test_writes_every_file_with_private_keys_readable_by_owner_only(pki: TestPki) -> None:
    names = {p.name for p in pki.directory.iterdir()}
    assert names == EXPECTED_FILES
    for path in pki.directory.iterdir():
        mode = stat.S_IMODE(path.stat().st_mode)
        if path.suffix in (".key", ".p12"):
            assert mode == 0o600, path.name


def test_ca_is_a_ca_and_signs_server_and_clients(pki: TestPki) -> None:
    ca = _cert(pki.ca)
    assert _attr(ca.subject, NameOID.COMMON_NAME) == CA_NAME
    assert ca.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    for name in ("server", "insi-auto", "insi-manu", "wrong-cn"):
        _cert(pki.directory / f"{name}.pem").verify_directly_issued_by(ca)


def test_server_certificate_names_localhost_and_loopback_addresses(pki: TestPki) -> None:
    cert = _cert(pki.server_cert)
    assert _attr(cert.subject, NameOID.COMMON_NAME) == "localhost"
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert san.get_values_for_type(x509.DNSName) == ["localhost"]
    assert set(san.get_values_for_type(x509.IPAddress)) == {
        ipaddress.ip_address("127.0.0.1"),
        ipaddress.ip_address("::1"),
    }
    eku = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert list(eku) == [ExtendedKeyUsageOID.SERVER_AUTH]


@pytest.mark.parametrize(
    ("name", "cn"),
    [("insi-auto", "INSI-AUTO"), ("insi-manu", "INSI-MANU"), ("wrong-cn", "ORG-AUTH-TEST")],
)
def test_client_certificates_look_like_igc_sante_organisation_certificates(
    pki: TestPki, name: str, cn: str
) -> None:
    cert = _cert(pki.client(name).cert)
    assert _attr(cert.subject, NameOID.COMMON_NAME) == cn
    assert _attr(cert.subject, NameOID.ORGANIZATIONAL_UNIT_NAME) == STRUCTURE_OU
    assert _attr(cert.subject, NameOID.ORGANIZATION_NAME) == STRUCTURE_NAME
    assert _attr(cert.subject, NameOID.COUNTRY_NAME) == "FR"
    eku = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert list(eku) == [ExtendedKeyUsageOID.CLIENT_AUTH]


def test_pkcs12_and_encrypted_key_open_with_the_published_password(pki: TestPki) -> None:
    auto = _cert(pki.client("insi-auto").cert)
    bundle = pkcs12.load_pkcs12(pki.insi_auto_p12.read_bytes(), PASSWORD.encode())
    assert bundle.cert is not None and bundle.cert.certificate == auto
    assert bundle.key is not None
    key = serialization.load_pem_private_key(
        pki.insi_auto_encrypted_key.read_bytes(), PASSWORD.encode()
    )
    assert key.public_key() == auto.public_key()
    with pytest.raises(TypeError):  # encrypted: no password, no key
        serialization.load_pem_private_key(pki.insi_auto_encrypted_key.read_bytes(), None)
    ctx = ssl.create_default_context()
    ctx.load_cert_chain(str(pki.client("insi-auto").cert), str(pki.insi_auto_encrypted_key),
                        PASSWORD)


def test_untrusted_client_comes_from_another_ca(pki: TestPki) -> None:
    untrusted = _cert(pki.client("untrusted-client").cert)
    untrusted.verify_directly_issued_by(_cert(pki.other_ca))
    with pytest.raises(ValueError):
        untrusted.verify_directly_issued_by(_cert(pki.ca))


def test_create_again_reuses_the_files(pki: TestPki) -> None:
    before = {p.name: p.read_bytes() for p in pki.directory.iterdir()}
    TestPki.create(pki.directory)
    after = {p.name: p.read_bytes() for p in pki.directory.iterdir()}
    assert after == before


def test_a_broken_leaf_is_reissued_and_the_ca_kept(tmp_path: Path) -> None:
    pki = TestPki.create(tmp_path)
    ca_before = pki.ca.read_bytes()
    p12_before = pki.insi_auto_p12.read_bytes()
    pki.client("insi-auto").key.write_text("not a key")
    pki.client("insi-manu").cert.unlink()
    TestPki.create(tmp_path)
    assert pki.ca.read_bytes() == ca_before
    auto = _cert(pki.client("insi-auto").cert)
    key = serialization.load_pem_private_key(pki.client("insi-auto").key.read_bytes(), None)
    assert key.public_key() == auto.public_key()
    assert pki.insi_auto_p12.read_bytes() != p12_before  # follows the new insi-auto
    assert pki.client("insi-manu").cert.is_file()


def test_a_new_ca_reissues_everything_it_signed(tmp_path: Path) -> None:
    pki = TestPki.create(tmp_path)
    pki.ca_key.unlink()
    TestPki.create(tmp_path)
    ca = _cert(pki.ca)
    for name in ("server", "insi-auto", "insi-manu", "wrong-cn"):
        _cert(pki.directory / f"{name}.pem").verify_directly_issued_by(ca)


def test_issue_client_for_later_mocks(pki: TestPki) -> None:
    org = pki.issue_client("org-auth", "ORG-AUTH-TEST", ou="123456789", o="AUTRE STRUCTURE")
    cert = _cert(org.cert)
    assert _attr(cert.subject, NameOID.COMMON_NAME) == "ORG-AUTH-TEST"
    assert _attr(cert.subject, NameOID.ORGANIZATIONAL_UNIT_NAME) == "123456789"
    cert.verify_directly_issued_by(_cert(pki.ca))
    assert stat.S_IMODE(org.key.stat().st_mode) == 0o600
    again = pki.issue_client("org-auth", "ORG-AUTH-TEST", ou="123456789", o="AUTRE STRUCTURE")
    assert again.cert.read_bytes() == org.cert.read_bytes()
    with pytest.raises(ValueError):
        pki.issue_client("../escape", "X")
    with pytest.raises(FileNotFoundError):
        pki.client("nobody")


def test_server_context_requires_a_client_certificate_by_default(pki: TestPki) -> None:
    assert pki.server_ssl_context().verify_mode == ssl.CERT_REQUIRED
    assert pki.server_ssl_context(require_client_cert=False).verify_mode == ssl.CERT_OPTIONAL
