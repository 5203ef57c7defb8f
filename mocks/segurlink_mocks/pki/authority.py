"""A throw-away test PKI shaped like IGC-Santé, written as PEM files in one directory.

:meth:`TestPki.create` makes (or reuses) a root CA "segurlink TEST IGC-Sante racine", a
``localhost`` server certificate for the mocks, and client certificates shaped like
IGC-Santé organisation certificates (``CN=INSI-AUTO, OU=<structure id>, O=<name>, C=FR``).
Everything is built with cryptography's ``CertificateBuilder``: no external tool, no
network. Keys are EC P-256 (fast to generate) and written with mode 0600.

Files (all in ``directory``)::

    ca.pem ca.key                     test root CA (trusted by the mocks and the clients)
    server.pem server.key             CN=localhost, SAN localhost / 127.0.0.1 / ::1
    insi-auto.pem insi-auto.key       CN=INSI-AUTO   (INSi, unattended calls)
    insi-auto.p12                     the same as PKCS#12, password "segurlink"
    insi-auto-encrypted.key           the same key, PKCS#8 encrypted, password "segurlink"
    insi-manu.pem insi-manu.key       CN=INSI-MANU   (INSi, user-initiated calls)
    wrong-cn.pem wrong-cn.key         CN=ORG-AUTH-TEST (refused by INSi: DESIR_560)
    other-ca.pem other-ca.key         a second CA that no mock trusts
    untrusted-client.pem/.key         a client certificate issued by other-ca

>>> pki = TestPki.create(tmp_dir)                     # doctest: +SKIP
>>> session.cert = pki.client("insi-auto").as_requests_cert()   # doctest: +SKIP
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
import ssl
import tempfile
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.types import (
    CertificateIssuerPublicKeyTypes,
    CertificatePublicKeyTypes,
)
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

__all__ = [
    "CA_NAME",
    "PASSWORD",
    "STRUCTURE_NAME",
    "STRUCTURE_OU",
    "ClientCert",
    "TestPki",
]

#: Common name of the test root CA.
CA_NAME = "segurlink TEST IGC-Sante racine"
#: OU of the test organisation certificates (the structure's identifier, as in IGC-Santé).
STRUCTURE_OU = "499700367909006"
#: O of the test organisation certificates.
STRUCTURE_NAME = "EHPAD SEGURLINK TEST"
#: Password of ``insi-auto.p12`` and ``insi-auto-encrypted.key``.
PASSWORD = "segurlink"  # noqa: S105 - published password of test files

_OTHER_CA_NAME = "segurlink TEST autre AC (non reconnue)"
_CA_DAYS = 3650
_LEAF_DAYS = 730
# A file set that expires within this margin is reissued rather than reused.
_RENEW_MARGIN = dt.timedelta(days=7)

_PrivateKey = ec.EllipticCurvePrivateKey


@dataclass(frozen=True, slots=True)
class ClientCert:
    """Paths of a client certificate (PEM) and its unencrypted key (PEM, mode 0600)."""

    cert: Path
    key: Path

    def as_requests_cert(self) -> tuple[str, str]:
        """The ``(cert, key)`` pair ``requests.Session.cert`` expects."""
        return (str(self.cert), str(self.key))


@dataclass(frozen=True, slots=True)
class _Issuer:
    cert: x509.Certificate
    key: _PrivateKey


class TestPki:
    """The test PKI in ``directory``; build it with :meth:`create`.

    Attributes are paths: :attr:`ca`, :attr:`server_cert`, :attr:`server_key`,
    :attr:`other_ca`; client identities come from :meth:`client`.
    """

    __test__ = False  # not a pytest test class, despite its name

    def __init__(self, directory: Path) -> None:
        self.directory = Path(directory)

    # -- construction --------------------------------------------------------------------

    @classmethod
    def create(cls, directory: Path) -> TestPki:
        """Create the PKI in ``directory``, reusing the files already there when valid.

        Reuse keeps the same CA across restarts of ``segurlink mock serve``, so a client
        configured once keeps trusting the mocks. Any missing, expired or inconsistent
        file is (re)issued; a new CA reissues every certificate signed by it.
        """
        pki = cls(directory)
        pki.directory.mkdir(parents=True, exist_ok=True)
        ca, ca_reused = pki._ensure_ca("ca", CA_NAME)
        pki._ensure_leaf(
            "server",
            ca,
            _server_subject(),
            server=True,
            force=not ca_reused,
        )
        for name, cn in (
            ("insi-auto", "INSI-AUTO"),
            ("insi-manu", "INSI-MANU"),
            ("wrong-cn", "ORG-AUTH-TEST"),
        ):
            pki._ensure_leaf(
                name,
                ca,
                _organisation_subject(cn, STRUCTURE_OU, STRUCTURE_NAME),
                force=not ca_reused,
            )
        pki._ensure_insi_auto_variants()
        other, other_reused = pki._ensure_ca("other-ca", _OTHER_CA_NAME)
        pki._ensure_leaf(
            "untrusted-client",
            other,
            _organisation_subject("INSI-AUTO", STRUCTURE_OU, "STRUCTURE INCONNUE"),
            force=not other_reused,
        )
        return pki

    def issue_client(
        self,
        name: str,
        cn: str,
        *,
        ou: str = STRUCTURE_OU,
        o: str = STRUCTURE_NAME,
    ) -> ClientCert:
        """Issue (or reuse) a client certificate ``<name>.pem`` / ``<name>.key``.

        For later mocks that need other IGC-Santé-like identities, e.g.
        ``pki.issue_client("org-auth", "ORG-AUTH-TEST")`` for a DMP authentication
        certificate. Reused when a valid file with the same subject already exists.
        """
        if not name or "/" in name or name.startswith("."):
            raise ValueError(f"invalid certificate file name {name!r}")
        issuer = self._load_issuer("ca")
        if issuer is None:
            raise FileNotFoundError(f"no CA in {self.directory}: call TestPki.create() first")
        self._ensure_leaf(name, issuer, _organisation_subject(cn, ou, o))
        return self.client(name)

    # -- paths ---------------------------------------------------------------------------

    @property
    def ca(self) -> Path:
        """The test root CA certificate (the CA bundle of clients talking to the mocks)."""
        return self.directory / "ca.pem"

    @property
    def ca_key(self) -> Path:
        return self.directory / "ca.key"

    @property
    def server_cert(self) -> Path:
        return self.directory / "server.pem"

    @property
    def server_key(self) -> Path:
        return self.directory / "server.key"

    @property
    def other_ca(self) -> Path:
        """A CA the mocks do not trust (issuer of ``untrusted-client``)."""
        return self.directory / "other-ca.pem"

    @property
    def insi_auto_p12(self) -> Path:
        """``insi-auto`` as PKCS#12, password :data:`PASSWORD`."""
        return self.directory / "insi-auto.p12"

    @property
    def insi_auto_encrypted_key(self) -> Path:
        """The ``insi-auto`` key as encrypted PKCS#8 PEM, password :data:`PASSWORD`."""
        return self.directory / "insi-auto-encrypted.key"

    def client(self, name: str) -> ClientCert:
        """The client identity ``<name>.pem`` / ``<name>.key`` (e.g. ``"insi-auto"``)."""
        identity = ClientCert(self.directory / f"{name}.pem", self.directory / f"{name}.key")
        if not (identity.cert.is_file() and identity.key.is_file()):
            raise FileNotFoundError(f"no client certificate {name!r} in {self.directory}")
        return identity

    # -- TLS -----------------------------------------------------------------------------

    def server_ssl_context(self, *, require_client_cert: bool = True) -> ssl.SSLContext:
        """A server-side SSL context for the mocks, trusting only the test CA for clients.

        With ``require_client_cert=False`` a client certificate is still requested and,
        when sent, verified (``CERT_OPTIONAL``), so a mock can check it itself.
        """
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.minimum_version = ssl.TLSVersion.TLSv1_2
        ctx.load_cert_chain(str(self.server_cert), str(self.server_key))
        ctx.load_verify_locations(cafile=str(self.ca))
        ctx.verify_mode = ssl.CERT_REQUIRED if require_client_cert else ssl.CERT_OPTIONAL
        return ctx

    # -- internals -----------------------------------------------------------------------

    def _ensure_ca(self, name: str, common_name: str) -> tuple[_Issuer, bool]:
        issuer = self._load_issuer(name)
        if issuer is not None and _subject_cn(issuer.cert) == common_name:
            return issuer, True
        key = ec.generate_private_key(ec.SECP256R1())
        subject = x509.Name(
            [
                x509.NameAttribute(NameOID.COUNTRY_NAME, "FR"),
                x509.NameAttribute(NameOID.ORGANIZATION_NAME, "segurlink TEST"),
                x509.NameAttribute(NameOID.COMMON_NAME, common_name),
            ]
        )
        now = _now()
        ski = x509.SubjectKeyIdentifier.from_public_key(key.public_key())
        cert = (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(days=1))
            .not_valid_after(now + dt.timedelta(days=_CA_DAYS))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=True,
                    content_commitment=False,
                    key_encipherment=False,
                    data_encipherment=False,
                    key_agreement=False,
                    key_cert_sign=True,
                    crl_sign=True,
                    encipher_only=False,
                    decipher_only=False,
                ),
                critical=True,
            )
            .add_extension(ski, critical=False)
            .sign(key, hashes.SHA256())
        )
        self._write_pair(name, cert, key)
        return _Issuer(cert, key), False

    def _load_issuer(self, name: str) -> _Issuer | None:
        loaded = self._load_pair(name)
        if loaded is None:
            return None
        cert, key = loaded
        try:
            constraints = cert.extensions.get_extension_for_class(x509.BasicConstraints).value
        except x509.ExtensionNotFound:
            return None
        if not constraints.ca or not still_valid(cert):
            return None
        return _Issuer(cert, key)

    def _ensure_leaf(
        self,
        name: str,
        issuer: _Issuer,
        subject: x509.Name,
        *,
        server: bool = False,
        force: bool = False,
    ) -> bool:
        """Issue ``name`` unless a valid one with this subject exists; True when issued."""
        if not force:
            loaded = self._load_pair(name)
            if loaded is not None:
                cert, _ = loaded
                if cert.subject == subject and still_valid(cert) and issued_by(cert, issuer.cert):
                    return False
        key = ec.generate_private_key(ec.SECP256R1())
        builder = leaf_builder(
            subject,
            issuer.cert,
            issuer.key.public_key(),
            key.public_key(),
            eku=ExtendedKeyUsageOID.SERVER_AUTH if server else ExtendedKeyUsageOID.CLIENT_AUTH,
        )
        if server:
            builder = builder.add_extension(
                x509.SubjectAlternativeName(
                    [
                        x509.DNSName("localhost"),
                        x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
                        x509.IPAddress(ipaddress.ip_address("::1")),
                    ]
                ),
                critical=False,
            )
        cert = builder.sign(issuer.key, hashes.SHA256())
        self._write_pair(name, cert, key)
        return True

    def _ensure_insi_auto_variants(self) -> None:
        loaded = self._load_pair("insi-auto")
        if loaded is None:  # pragma: no cover - _ensure_leaf just wrote it
            raise RuntimeError("insi-auto was not written")
        cert, key = loaded
        password = PASSWORD.encode()
        if not _p12_holds(self.insi_auto_p12, cert, password):
            ca_cert = x509.load_pem_x509_certificate(self.ca.read_bytes())
            blob = pkcs12.serialize_key_and_certificates(
                b"insi-auto",
                key,
                cert,
                [ca_cert],
                serialization.BestAvailableEncryption(password),
            )
            write_private(self.insi_auto_p12, blob)
        if not _encrypted_key_matches(self.insi_auto_encrypted_key, cert, password):
            write_private(
                self.insi_auto_encrypted_key,
                key.private_bytes(
                    serialization.Encoding.PEM,
                    serialization.PrivateFormat.PKCS8,
                    serialization.BestAvailableEncryption(password),
                ),
            )

    def _load_pair(self, name: str) -> tuple[x509.Certificate, _PrivateKey] | None:
        cert_path = self.directory / f"{name}.pem"
        key_path = self.directory / f"{name}.key"
        try:
            cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
            key = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
        except (OSError, ValueError, TypeError):
            return None
        if not isinstance(key, ec.EllipticCurvePrivateKey):
            return None
        if key.public_key().public_numbers() != _ec_public(cert):
            return None
        return cert, key

    def _write_pair(self, name: str, cert: x509.Certificate, key: _PrivateKey) -> None:
        write_private(
            self.directory / f"{name}.key",
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            ),
        )
        write_public(self.directory / f"{name}.pem", cert.public_bytes(serialization.Encoding.PEM))

    def __repr__(self) -> str:
        return f"TestPki({str(self.directory)!r})"


def _organisation_subject(cn: str, ou: str, o: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "FR"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, o),
            x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, ou),
            x509.NameAttribute(NameOID.COMMON_NAME, cn),
        ]
    )


def _server_subject() -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "FR"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "segurlink TEST"),
            x509.NameAttribute(NameOID.COMMON_NAME, "localhost"),
        ]
    )


def leaf_builder(
    subject: x509.Name,
    issuer: x509.Certificate,
    issuer_public_key: CertificateIssuerPublicKeyTypes,
    public_key: CertificatePublicKeyTypes,
    *,
    eku: x509.ObjectIdentifier,
    signing: bool = False,
    key_encipherment: bool = False,
) -> x509.CertificateBuilder:
    """An end-entity certificate of the test CA, valid :data:`_LEAF_DAYS`, not yet signed.

    ``signing`` certificates (VIHF / XAdES) get nonRepudiation; RSA TLS identities may ask
    for keyEncipherment.
    """
    now = _now()
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer.subject)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=_LEAF_DAYS))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=signing,
                key_encipherment=key_encipherment,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.ExtendedKeyUsage([eku]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_public_key),
            critical=False,
        )
    )


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(microsecond=0)


def still_valid(cert: x509.Certificate) -> bool:
    now = _now()
    return cert.not_valid_before_utc <= now and cert.not_valid_after_utc - now > _RENEW_MARGIN


def issued_by(cert: x509.Certificate, issuer: x509.Certificate) -> bool:
    try:
        cert.verify_directly_issued_by(issuer)
    except (ValueError, TypeError, InvalidSignature):
        return False
    return True


def _subject_cn(cert: x509.Certificate) -> str:
    values = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    return str(values[0].value) if values else ""


def _ec_public(cert: x509.Certificate) -> ec.EllipticCurvePublicNumbers | None:
    public = cert.public_key()
    return public.public_numbers() if isinstance(public, ec.EllipticCurvePublicKey) else None


def _p12_holds(path: Path, cert: x509.Certificate, password: bytes) -> bool:
    try:
        bundle = pkcs12.load_pkcs12(path.read_bytes(), password)
    except (OSError, ValueError, TypeError):
        return False
    return bundle.cert is not None and bundle.cert.certificate == cert


def _encrypted_key_matches(path: Path, cert: x509.Certificate, password: bytes) -> bool:
    try:
        key = serialization.load_pem_private_key(path.read_bytes(), password=password)
    except (OSError, ValueError, TypeError):
        return False
    return isinstance(
        key, ec.EllipticCurvePrivateKey
    ) and key.public_key().public_numbers() == _ec_public(cert)


def write_private(path: Path, data: bytes) -> None:
    _atomic_write(path, data, 0o600)


def write_public(path: Path, data: bytes) -> None:
    _atomic_write(path, data, 0o644)


def _atomic_write(path: Path, data: bytes, mode: int) -> None:
    # Write then rename, so a concurrent reader never sees half a key or certificate.
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        os.fchmod(fd, mode)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
