"""The XAdES signature of a submission set (the DMP's ``Signature01`` entry).

An enveloping XML-DSig whose ``ds:Manifest`` lists one reference per document
(``urn:oid:<document uniqueId>``, SHA-256 of its bytes) and one for the submission set,
with XAdES ``SignedProperties`` (signing time, signing certificate) — the shape of the
official ``TD2.1-SignatureXades.xml`` with SHA-256 algorithms. Canonicalisation is lxml's
exclusive C14N; the RSA signature is cryptography's. The result verifies with signxml.

>>> xml = sign_submission_set(signer, "1.2.3", {"1.2.3.4": cda_bytes}, at=now)  # doctest: +SKIP
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import uuid
from collections.abc import Mapping

from lxml import etree

from .vihf import DSIG_NS, Signer

__all__ = ["XADES_NS", "sign_submission_set"]

XADES_NS = "http://uri.etsi.org/01903/v1.3.2#"
_EXC_C14N = "http://www.w3.org/2001/10/xml-exc-c14n#"
_RSA_SHA256 = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"
_SHA256 = "http://www.w3.org/2001/04/xmlenc#sha256"
_PURPOSE = "1.2.840.10065.1.12.1.14"


def _ds(parent: etree._Element | None, tag: str, **attrs: str) -> etree._Element:
    name = f"{{{DSIG_NS}}}{tag}"
    if parent is None:
        return etree.Element(name, attrs, nsmap={"ds": DSIG_NS})
    return etree.SubElement(parent, name, attrs)


def _digest_node(node: etree._Element) -> str:
    c14n = etree.tostring(node, method="c14n", exclusive=True, with_comments=False)
    return base64.b64encode(hashlib.sha256(c14n).digest()).decode("ascii")


def _reference(parent: etree._Element, uri: str, digest: str, ref_type: str = "") -> None:
    ref = _ds(parent, "Reference", URI=uri)
    if ref_type:
        ref.set("Type", ref_type)
    if uri.startswith("#"):
        transforms = _ds(ref, "Transforms")
        _ds(transforms, "Transform", Algorithm=_EXC_C14N)
    _ds(ref, "DigestMethod", Algorithm=_SHA256)
    _ds(ref, "DigestValue").text = digest


def sign_submission_set(
    signer: Signer,
    submission_set_unique_id: str,
    documents: Mapping[str, bytes],
    *,
    at: dt.datetime,
    signature_id: str | None = None,
) -> bytes:
    """The XAdES signature (bytes) of a submission set and its documents.

    ``documents`` maps each document uniqueId to the exact bytes deposited.
    """
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import padding

    sig_id = signature_id or f"sig-{uuid.uuid4()}"  # xs:ID: must not start with a digit
    cert = signer.certificate()
    cert_der = cert.public_bytes(serialization.Encoding.DER)

    signature = _ds(None, "Signature", Id=sig_id)
    signed_info = _ds(signature, "SignedInfo")
    _ds(signed_info, "CanonicalizationMethod", Algorithm=_EXC_C14N)
    _ds(signed_info, "SignatureMethod", Algorithm=_RSA_SHA256)
    value = _ds(signature, "SignatureValue")
    key_info = _ds(signature, "KeyInfo")
    _ds(_ds(key_info, "X509Data"), "X509Certificate").text = base64.b64encode(cert_der).decode()

    manifest = _ds(_ds(signature, "Object"), "Manifest", Id="IHEManifest")
    # The submission set has no byte form: its reference digests its uniqueId.
    _reference(
        manifest,
        f"urn:oid:{submission_set_unique_id}",
        base64.b64encode(hashlib.sha256(submission_set_unique_id.encode()).digest()).decode(),
    )
    for unique_id, content in documents.items():
        _reference(
            manifest,
            f"urn:oid:{unique_id}",
            base64.b64encode(hashlib.sha256(content).digest()).decode(),
        )
    # As in the official example, the purpose is declared outside the xmldsig namespace
    # (xmldsig's SignatureProperty admits no text content).
    props = etree.SubElement(_ds(signature, "Object"), "SignatureProperties")
    prop = etree.SubElement(
        props, "SignatureProperty", Id="purposeOfSignature", Target=f"#{sig_id}"
    )
    prop.text = _PURPOSE

    x = f"{{{XADES_NS}}}"
    qualifying = etree.SubElement(
        _ds(signature, "Object"),
        x + "QualifyingProperties",
        nsmap={"xades": XADES_NS},
        Target=f"#{sig_id}",
    )
    signed_props = etree.SubElement(qualifying, x + "SignedProperties", Id="S0-SignedProperties")
    ssp = etree.SubElement(signed_props, x + "SignedSignatureProperties")
    etree.SubElement(ssp, x + "SigningTime").text = at.astimezone(dt.UTC).strftime(
        "%Y-%m-%dT%H:%M:%SZ"
    )
    cert_el = etree.SubElement(etree.SubElement(ssp, x + "SigningCertificate"), x + "Cert")
    cert_digest = etree.SubElement(cert_el, x + "CertDigest")
    _ds(cert_digest, "DigestMethod", Algorithm=_SHA256)
    _ds(cert_digest, "DigestValue").text = base64.b64encode(
        hashlib.sha256(cert_der).digest()
    ).decode()
    serial = etree.SubElement(cert_el, x + "IssuerSerial")
    _ds(serial, "X509IssuerName").text = cert.issuer.rfc4514_string()
    _ds(serial, "X509SerialNumber").text = str(cert.serial_number)
    policy = etree.SubElement(ssp, x + "SignaturePolicyIdentifier")
    etree.SubElement(policy, x + "SignaturePolicyImplied")

    _reference(signed_info, "#IHEManifest", _digest_node(manifest), f"{DSIG_NS}Manifest")
    _reference(
        signed_info,
        "#S0-SignedProperties",
        _digest_node(signed_props),
        "http://uri.etsi.org/01903#SignedProperties",
    )
    c14n = etree.tostring(signed_info, method="c14n", exclusive=True, with_comments=False)
    raw = signer.private_key().sign(c14n, padding.PKCS1v15(), hashes.SHA256())
    value.text = base64.b64encode(raw).decode("ascii")
    return etree.tostring(signature, xml_declaration=True, encoding="UTF-8")
