"""The RSA certificates of the DMP tests, issued by the test CA of :mod:`segurlink_mocks.pki`.

IGC-Santé organisation certificates are RSA, and :meth:`TestPki.issue_client` only issues
EC keys, so the DMP identities are issued here with the CA key file (``pki.ca_key``),
next to the other files of the PKI directory, idempotently (reused while valid, same
subject, same issuer)::

    dmp-auth.pem / .key         CN=EHPAD SEGURLINK TEST AUTH, OU=1010000016 (TLS, clientAuth)
    dmp-sign.pem / .key         CN=EHPAD SEGURLINK TEST SIGN, OU=1010000016 (VIHF, XAdES)
    dmp-sign-other.pem / .key   the same, OU=1999999999 (structure mismatch tests)
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from ..pki.authority import (
    ClientCert,
    issued_by,
    leaf_builder,
    still_valid,
    write_private,
    write_public,
)

if TYPE_CHECKING:
    from ..pki import TestPki

__all__ = [
    "DMP_AUTH",
    "DMP_SIGN",
    "DMP_SIGN_OTHER",
    "DMP_STRUCTURE_ID",
    "DMP_STRUCTURE_NAME",
    "OTHER_STRUCTURE_ID",
    "ensure_dmp_certificates",
]

#: The structure idNat of the stack ("1" + FINESS 010000016).
DMP_STRUCTURE_ID = "1010000016"
#: A structure that is not ours (``dmp-sign-other``).
OTHER_STRUCTURE_ID = "1999999999"
DMP_STRUCTURE_NAME = "EHPAD SEGURLINK TEST"
DMP_AUTH = "dmp-auth"
DMP_SIGN = "dmp-sign"
DMP_SIGN_OTHER = "dmp-sign-other"


def _subject(cn: str, ou: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "FR"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, DMP_STRUCTURE_NAME),
            x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, ou),
            x509.NameAttribute(NameOID.COMMON_NAME, cn),
        ]
    )


_SPECS: dict[str, tuple[str, str, bool]] = {
    # name: (CN, OU, signing certificate?)
    DMP_AUTH: ("EHPAD SEGURLINK TEST AUTH", DMP_STRUCTURE_ID, False),
    DMP_SIGN: ("EHPAD SEGURLINK TEST SIGN", DMP_STRUCTURE_ID, True),
    DMP_SIGN_OTHER: ("EHPAD SEGURLINK TEST SIGN", OTHER_STRUCTURE_ID, True),
}


def ensure_dmp_certificates(pki: TestPki) -> dict[str, ClientCert]:
    """Issue (or reuse) the three DMP identities in ``pki.directory``; name -> paths."""
    ca_cert = x509.load_pem_x509_certificate(pki.ca.read_bytes())
    ca_key = serialization.load_pem_private_key(pki.ca_key.read_bytes(), password=None)
    if not isinstance(ca_key, (ec.EllipticCurvePrivateKey, rsa.RSAPrivateKey)):
        raise TypeError("unsupported test CA key type")
    result: dict[str, ClientCert] = {}
    for name, (cn, ou, signing) in _SPECS.items():
        identity = ClientCert(pki.directory / f"{name}.pem", pki.directory / f"{name}.key")
        if not _reusable(identity, _subject(cn, ou), ca_cert):
            _issue(identity, _subject(cn, ou), ca_cert, ca_key, signing=signing)
        result[name] = identity
    return result


def _reusable(identity: ClientCert, subject: x509.Name, ca: x509.Certificate) -> bool:
    try:
        cert = x509.load_pem_x509_certificate(identity.cert.read_bytes())
        key = serialization.load_pem_private_key(identity.key.read_bytes(), password=None)
    except (OSError, ValueError, TypeError):
        return False
    if not isinstance(key, rsa.RSAPrivateKey):
        return False
    public = cert.public_key()
    if not isinstance(public, rsa.RSAPublicKey):
        return False
    if public.public_numbers() != key.public_key().public_numbers():
        return False
    return cert.subject == subject and still_valid(cert) and issued_by(cert, ca)


def _issue(
    identity: ClientCert,
    subject: x509.Name,
    ca_cert: x509.Certificate,
    ca_key: ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey,
    *,
    signing: bool,
) -> None:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    eku = ExtendedKeyUsageOID.EMAIL_PROTECTION if signing else ExtendedKeyUsageOID.CLIENT_AUTH
    cert = leaf_builder(
        subject,
        ca_cert,
        ca_key.public_key(),
        key.public_key(),
        eku=eku,
        signing=signing,
        key_encipherment=not signing,  # an RSA TLS identity may encipher keys
    ).sign(ca_key, hashes.SHA256())
    write_private(
        identity.key,
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ),
    )
    write_public(identity.cert, cert.public_bytes(serialization.Encoding.PEM))
