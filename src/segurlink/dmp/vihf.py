"""The VIHF: the SAML 2.0 assertion that identifies the user, the structure and the software.

Built from the settings and either a professional (Pro Santé Connect userinfo) or the
person responsible for automated deposits, then signed with the structure's ORG SIGN
certificate (signxml: rsa-sha256, exclusive c14n, enveloped, signature right after
``Issuer``).

>>> vihf = Vihf.for_responsible(settings, ins)               # doctest: +SKIP
>>> element = sign_vihf(vihf.to_element(), signer)           # doctest: +SKIP
"""

from __future__ import annotations

import datetime as dt
import functools
import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lxml import etree

from .._xml import parse_xml
from ..config import Secret
from ..errors import ConfigurationError, InputError, XmlSecurityError
from ..identity import Ins
from ..psc.models import ProfessionalIdentity
from .metadata import patient_id_value
from .models import ResponsiblePerson
from .settings import DmpSettings

__all__ = [
    "DSIG_NS",
    "HL7_NS",
    "SAML_NS",
    "Signer",
    "Vihf",
    "VihfRole",
    "certificate_ou",
    "parse_vihf",
    "sign_vihf",
    "verify_vihf",
]

SAML_NS = "urn:oasis:names:tc:SAML:2.0:assertion"
DSIG_NS = "http://www.w3.org/2000/09/xmldsig#"
HL7_NS = "urn:hl7-org:v3"
XSI_NS = "http://www.w3.org/2001/XMLSchema-instance"
XS_NS = "http://www.w3.org/2001/XMLSchema"

PROFESSION_SYSTEM = "1.2.250.1.71.1.2.7"
SPECIALITY_SYSTEM = "1.2.250.1.71.4.2.5"
SECTOR_SYSTEM = "1.2.250.1.71.4.2.4"
PURPOSE_SYSTEM = "1.2.250.1.213.1.1.4.248"
_SMARTCARD = "urn:oasis:names:tc:SAML:2.0:ac:classes:SmartcardPKI"
_X509_NAME = "urn:oasis:names:tc:SAML:1.1:nameid-format:X509SubjectName"
_MODES = {
    "direct": "DIRECTE",
    "indirect": "INDIRECTE",
    "indirect_reinforced": "INDIRECTE_RENFORCEE",
}


@dataclass(frozen=True, slots=True)
class VihfRole:
    """One ``subject:role`` value: an HL7 ``Role`` CE."""

    code: str
    code_system: str
    display_name: str = ""


@dataclass(frozen=True, slots=True)
class Vihf:
    """The content of a VIHF, before signing (see :meth:`to_element`).

    ``structure_id`` is ``Identifiant_Structure`` (must equal the OU of the signing
    certificate); ``resource_id`` the patient's ``<INS>^^^&<OID>&ISO^NH``.
    """

    issuer: str
    subject_id: str
    subject_name: str
    roles: tuple[VihfRole, ...]
    structure_id: str
    sector: str
    mode: str
    resource_id: str
    lps_id: str
    lps_name: str
    lps_version: str
    homologation_id: str
    purpose: str = "normal"
    assertion_id: str = field(default_factory=lambda: "_" + str(uuid.uuid4()))
    issue_instant: dt.datetime = field(default_factory=lambda: dt.datetime.now(dt.UTC))

    def __post_init__(self) -> None:
        if self.mode not in _MODES:
            raise InputError(f"VIHF mode must be one of {', '.join(_MODES)}, not {self.mode!r}")
        if not 1 <= len(self.roles) <= 4:
            raise InputError("a VIHF carries 1 to 4 roles")

    @classmethod
    def for_responsible(
        cls,
        settings: DmpSettings,
        ins: Ins,
        *,
        issuer: str,
        responsible: ResponsiblePerson | None = None,
        **kwargs: Any,
    ) -> Vihf:
        """A VIHF for an automated deposit under the responsible person's name."""
        person = responsible or settings.responsible
        roles = [VihfRole(person.profession, PROFESSION_SYSTEM)]
        if person.speciality:
            roles.append(VihfRole(person.speciality, SPECIALITY_SYSTEM))
        return cls._from_settings(
            settings, ins, issuer, person.national_id, person.display_name, roles, **kwargs
        )

    @classmethod
    def from_professional(
        cls,
        settings: DmpSettings,
        ins: Ins,
        professional: ProfessionalIdentity,
        *,
        issuer: str,
        **kwargs: Any,
    ) -> Vihf:
        """A VIHF for a professional logged in with Pro Santé Connect (indirect mode).

        ``professional`` is a :class:`segurlink.psc.ProfessionalIdentity`: the subject is
        its national id. The chosen activity is the one exercised in the settings'
        structure (FINESS of the site or legal entity); its exercice gives the role
        (profession, speciality added when present) and its sector ``Secteur_Activite``.
        Without exercices the role comes from ``SubjectRole``. A professional whose
        activities all name other structures is refused (:class:`InputError`): the DMP
        would not accept this structure's certificate for them.
        """
        roles: list[VihfRole] = []
        exercices = professional.exercices
        ex, activity = _chosen_activity(exercices, settings.structure_id)
        sector = str(getattr(activity, "sector", "") or "")
        if re.fullmatch(r"SA[0-9]{2}", sector) and "sector" not in kwargs:
            kwargs["sector"] = sector
        if ex is not None:
            if ex.profession:
                roles.append(VihfRole(ex.profession, PROFESSION_SYSTEM))
            if ex.speciality:
                roles.append(VihfRole(ex.speciality, SPECIALITY_SYSTEM))
        if not roles:
            for role in professional.roles[:4]:
                code, _, system = str(role).partition("^")
                roles.append(VihfRole(code, system or PROFESSION_SYSTEM))
        if not roles:
            raise InputError("the professional has no profession to put in the VIHF role")
        name = " ".join(p for p in (professional.given_name, professional.family_name) if p)
        return cls._from_settings(
            settings, ins, issuer, professional.national_id, name, roles, **kwargs
        )

    @classmethod
    def _from_settings(
        cls,
        settings: DmpSettings,
        ins: Ins,
        issuer: str,
        subject_id: str,
        subject_name: str,
        roles: Sequence[VihfRole],
        **kwargs: Any,
    ) -> Vihf:
        sector = kwargs.pop("sector", settings.sector)
        return cls(
            issuer=issuer,
            subject_id=subject_id,
            subject_name=subject_name,
            roles=tuple(roles),
            structure_id=settings.structure_id,
            sector=f"{sector}^{SECTOR_SYSTEM}",
            mode=kwargs.pop("mode", settings.mode),
            resource_id=patient_id_value(ins.value, ins.oid),
            lps_id=settings.software.idam,
            lps_name=settings.software.name,
            lps_version=settings.software.version,
            homologation_id=settings.homologation_id,
            **kwargs,
        )

    def to_element(self) -> etree._Element:
        """The unsigned assertion, with a ``ds:Signature`` placeholder after ``Issuer``."""
        instant = self.issue_instant.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
        a = etree.Element(
            f"{{{SAML_NS}}}Assertion",
            nsmap={"saml2": SAML_NS, "xsi": XSI_NS, "xs": XS_NS},
            ID=self.assertion_id,
            IssueInstant=instant,
            Version="2.0",
        )
        issuer = etree.SubElement(a, f"{{{SAML_NS}}}Issuer", Format=_X509_NAME)
        issuer.text = self.issuer
        etree.SubElement(a, f"{{{DSIG_NS}}}Signature", nsmap={"ds": DSIG_NS}, Id="placeholder")
        subject = etree.SubElement(a, f"{{{SAML_NS}}}Subject")
        etree.SubElement(subject, f"{{{SAML_NS}}}NameID").text = self.subject_id
        authn = etree.SubElement(a, f"{{{SAML_NS}}}AuthnStatement", AuthnInstant=instant)
        ctx = etree.SubElement(authn, f"{{{SAML_NS}}}AuthnContext")
        etree.SubElement(ctx, f"{{{SAML_NS}}}AuthnContextClassRef").text = _SMARTCARD
        if self.mode == "indirect_reinforced":
            etree.SubElement(ctx, f"{{{SAML_NS}}}AuthnContextDecl").text = _SMARTCARD
        attrs = etree.SubElement(a, f"{{{SAML_NS}}}AttributeStatement")

        def string(name: str, value: str) -> None:
            attr = etree.SubElement(attrs, f"{{{SAML_NS}}}Attribute", Name=name)
            v = etree.SubElement(attr, f"{{{SAML_NS}}}AttributeValue")
            v.set(f"{{{XSI_NS}}}type", "xs:string")
            v.text = value

        def coded(name: str, tag: str, values: Sequence[VihfRole]) -> None:
            attr = etree.SubElement(attrs, f"{{{SAML_NS}}}Attribute", Name=name)
            for role in values:
                v = etree.SubElement(attr, f"{{{SAML_NS}}}AttributeValue")
                ce = etree.SubElement(
                    v,
                    f"{{{HL7_NS}}}{tag}",
                    nsmap={None: HL7_NS},  # type: ignore[dict-item]
                    code=role.code,
                    codeSystem=role.code_system,
                )
                if role.display_name:
                    ce.set("displayName", role.display_name)
                ce.set(f"{{{XSI_NS}}}type", "CE")

        string("Identifiant_Structure", self.structure_id)
        string("Secteur_Activite", self.sector)
        if self.subject_name:
            string("urn:oasis:names:tc:xspa:1.0:subject:subject-id", self.subject_name)
        coded("urn:oasis:names:tc:xacml:2.0:subject:role", "Role", self.roles)
        string("VIHF_Version", "3.0")
        string("Authentification_mode", _MODES[self.mode])
        string("urn:oasis:names:tc:xacml:2.0:resource:resource-id", self.resource_id)
        string("Ressource_URN", "urn:dmp")
        coded(
            "urn:oasis:names:tc:xspa:1.0:subject:purposeofuse",
            "PurposeOfUse",
            [
                VihfRole(
                    self.purpose, PURPOSE_SYSTEM, "Accès normal" if self.purpose == "normal" else ""
                )
            ],
        )
        string("LPS_ID", self.lps_id)
        string("LPS_Nom", self.lps_name)
        string("LPS_Version", self.lps_version)
        string("LPS_ID_HOMOLOGATION_DMP", self.homologation_id)
        return a


def _chosen_activity(exercices: Sequence[Any], structure_id: str) -> tuple[Any, Any]:
    """The (exercice, activity) exercised in the structure ``structure_id`` (1 + FINESS).

    Falls back to the first exercice (no activity) when no activity names a FINESS;
    raises :class:`InputError` when activities name only other structures.
    """
    finess = structure_id[1:]
    named = False
    for ex in exercices:
        for activity in getattr(ex, "activities", ()) or ():
            sites = {
                getattr(activity, "finess_site", None),
                getattr(activity, "finess_legal_entity", None),
            } - {None, ""}
            named = named or bool(sites)
            if finess in sites:
                return ex, activity
    if named:
        raise InputError(
            "the professional has no activity in the structure of the DMP certificates "
            f"({structure_id})"
        )
    return (exercices[0] if exercices else None), None


@dataclass(frozen=True, repr=False)
class Signer:
    """The ORG SIGN key pair (PEM) that signs VIHFs and XAdES signatures."""

    cert_pem: bytes
    key_pem: bytes
    password: Secret | None = None

    def __repr__(self) -> str:
        return f"Signer(subject={self.subject!r})"

    @classmethod
    def from_files(cls, cert: Path, key: Path, password: Secret | None = None) -> Signer:
        try:
            signer = cls(cert.read_bytes(), key.read_bytes(), password)
        except OSError as exc:
            raise ConfigurationError(f"cannot read the DMP signing certificate/key: {exc}") from exc
        signer.private_key()  # fail now, not at the first deposit
        return signer

    @functools.cached_property
    def _certificate(self) -> Any:
        from cryptography import x509

        try:
            return x509.load_pem_x509_certificate(self.cert_pem)
        except ValueError as exc:
            raise ConfigurationError(f"the DMP signing certificate is not PEM: {exc}") from exc

    def certificate(self) -> Any:
        """The signing certificate (cryptography object)."""
        return self._certificate

    def private_key(self) -> Any:
        """The RSA private key, loaded once (cryptography object)."""
        return self._private_key

    @functools.cached_property
    def _private_key(self) -> Any:
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric import rsa

        try:
            # The structure's own key file: its RSA consistency check costs ~0.1 s per
            # load (every CLI command); matching it to the certificate below is the check
            # that matters here.
            key = serialization.load_pem_private_key(
                self.key_pem,
                self.password.reveal().encode() if self.password else None,
                unsafe_skip_rsa_key_validation=True,
            )
        except (ValueError, TypeError) as exc:
            raise ConfigurationError(f"cannot load the DMP signing key: {exc}") from exc
        if not isinstance(key, rsa.RSAPrivateKey):
            raise ConfigurationError("the DMP signing key must be RSA (IGC-Santé ORG SIGN)")
        if key.public_key() != self._certificate.public_key():
            raise ConfigurationError("the DMP signing key does not match the signing certificate")
        return key

    @property
    def subject(self) -> str:
        """The certificate subject in RFC 4514/2253 form (the VIHF ``Issuer``)."""
        return str(self.certificate().subject.rfc4514_string())

    @property
    def structure_id(self) -> str:
        """The OU of the certificate: the structure's national id."""
        return certificate_ou(self.cert_pem)


def certificate_ou(cert_pem: bytes) -> str:
    """The OU of a PEM certificate (IGC-Santé puts the structure id there)."""
    from cryptography import x509
    from cryptography.x509.oid import NameOID

    try:
        cert = x509.load_pem_x509_certificate(cert_pem)
    except ValueError as exc:
        raise ConfigurationError(f"not a PEM certificate: {exc}") from exc
    ous = cert.subject.get_attributes_for_oid(NameOID.ORGANIZATIONAL_UNIT_NAME)
    if not ous:
        raise ConfigurationError("the certificate has no OU (structure identifier)")
    return str(ous[0].value)


def sign_vihf(assertion: etree._Element, signer: Signer) -> etree._Element:
    """Sign the assertion: rsa-sha256, exclusive c14n, enveloped, after ``Issuer``."""
    from signxml.algorithms import CanonicalizationMethod, DigestAlgorithm, SignatureMethod
    from signxml.signer import XMLSigner

    xml_signer = XMLSigner(
        signature_algorithm=SignatureMethod.RSA_SHA256,
        digest_algorithm=DigestAlgorithm.SHA256,
        c14n_algorithm=CanonicalizationMethod.EXCLUSIVE_XML_CANONICALIZATION_1_0,
    )
    # signxml wants the signature element namespaced as ds, not as the default namespace.
    xml_signer.namespaces = {"ds": DSIG_NS}
    signed = xml_signer.sign(
        assertion,
        key=signer.private_key(),
        cert=signer.cert_pem.decode("ascii"),
        reference_uri="#" + assertion.get("ID", ""),
        id_attribute="ID",
    )
    return signed


def verify_vihf(
    data: bytes | etree._Element,
    cert_pem: bytes | str,
    *,
    allow_sha1: bool = False,
    at: dt.datetime | None = None,
) -> etree._Element:
    """Verify a VIHF signature against an explicit certificate; return the signed assertion.

    ``allow_sha1`` accepts rsa-sha1/sha1 (the official samples); segurlink signs with
    rsa-sha256. ``at`` checks the certificate's validity at that time instead of now
    (old samples). Raises :class:`XmlSecurityError` when the signature does not verify.
    """
    from signxml.algorithms import DigestAlgorithm, SignatureMethod
    from signxml.exceptions import InvalidInput, InvalidSignature
    from signxml.verifier import SignatureConfiguration, XMLVerifier

    root = data if isinstance(data, etree._Element) else parse_xml(data, what="VIHF")
    methods = (
        set(SignatureMethod)
        if allow_sha1
        else {SignatureMethod.RSA_SHA256, SignatureMethod.RSA_SHA512}
    )
    digests = (
        set(DigestAlgorithm) if allow_sha1 else {DigestAlgorithm.SHA256, DigestAlgorithm.SHA512}
    )
    config = SignatureConfiguration(
        signature_methods=frozenset(methods),
        digest_algorithms=frozenset(digests),
        verification_time=at,
    )
    if isinstance(cert_pem, bytes):
        cert_pem = cert_pem.decode("ascii")
    try:
        result = XMLVerifier().verify(
            root, x509_cert=cert_pem, id_attribute="ID", expect_config=config
        )
    except (InvalidSignature, InvalidInput) as exc:
        raise XmlSecurityError(f"the VIHF signature does not verify: {exc}") from exc
    signed = result.signed_xml  # type: ignore[union-attr]
    assert signed is not None
    return signed


def parse_vihf(data: bytes | etree._Element) -> dict[str, Any]:
    """The facts of a VIHF: issuer, subject, authn context, attributes (values as lists).

    Coded attribute values (``Role``, ``PurposeOfUse``) are ``code^codeSystem`` strings.
    """
    root = data if isinstance(data, etree._Element) else parse_xml(data, what="VIHF")
    if root.tag != f"{{{SAML_NS}}}Assertion":
        raise InputError("not a SAML 2.0 Assertion")
    attributes: dict[str, list[str]] = {}
    for attr in root.iter(f"{{{SAML_NS}}}Attribute"):
        values: list[str] = []
        for value in attr.findall(f"{{{SAML_NS}}}AttributeValue"):
            child = next((c for c in value if isinstance(c.tag, str)), None)
            if child is not None:
                values.append(f"{child.get('code', '')}^{child.get('codeSystem', '')}")
            else:
                values.append((value.text or "").strip())
        attributes[attr.get("Name", "")] = values
    issuer = root.find(f"{{{SAML_NS}}}Issuer")
    sig = root.find(f"{{{DSIG_NS}}}Signature")
    children = [c for c in root if isinstance(c.tag, str)]
    return {
        "id": root.get("ID", ""),
        "issuer": (issuer.text or "").strip() if issuer is not None else "",
        "subject": (root.findtext(f"{{{SAML_NS}}}Subject/{{{SAML_NS}}}NameID") or "").strip(),
        "authn_class": root.findtext(f".//{{{SAML_NS}}}AuthnContextClassRef") or "",
        "authn_decl": root.findtext(f".//{{{SAML_NS}}}AuthnContextDecl") or "",
        "signed": sig is not None,
        "signature_after_issuer": sig is not None and children.index(sig) == 1,
        "attributes": attributes,
    }


#: The former name of :func:`parse_vihf` (parsers are named ``parse_*``).
read_vihf = parse_vihf
