"""VIHF checks of the DMP mock: the SAML assertion in ``wsse:Security``.

The signature is verified with signxml against the test CA (the certificate travels in
``KeyInfo``; signxml checks that it chains to the CA and allows digitalSignature). The
attributes are then read from what signxml says was signed — never from the original
tree — so a second, unsigned assertion or attribute cannot be smuggled in (XML signature
wrapping). rsa-sha1 is refused (the official samples use it; the mock only accepts
SHA-2 signatures, as the spec recommends rsa-sha256).

:class:`VihfFreshness` then holds the DMP's rule for the assertion itself: a VIHF lives
30 seconds from its ``IssueInstant`` and serves one request only (DMP homologation
requirement EX_AIR-040: "durée de vie de 30 secondes ... une seule sollicitation").
"""

from __future__ import annotations

import base64
import datetime as dt
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from cryptography import x509
from cryptography.x509.oid import NameOID
from lxml import etree

__all__ = [
    "AUTH_MODES",
    "VIHF_CLOCK_SKEW",
    "VIHF_LIFETIME",
    "Vihf",
    "VihfError",
    "VihfFreshness",
    "verify_vihf",
]

#: Seconds a VIHF is valid after its IssueInstant (EX_AIR-040), and the clock difference
#: tolerated between the client and the DMP.
VIHF_LIFETIME = 30.0
VIHF_CLOCK_SKEW = 5.0

SAML_NS = "urn:oasis:names:tc:SAML:2.0:assertion"
DS_NS = "http://www.w3.org/2000/09/xmldsig#"
HL7_NS = "urn:hl7-org:v3"
WSSE_NS = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"

AUTH_MODES = frozenset({"INDIRECTE", "INDIRECTE_RENFORCEE"})
_ROLE_SYSTEMS = frozenset({"1.2.250.1.71.1.2.7", "1.2.250.1.71.4.2.5", "1.2.250.1.213.1.1.4.6"})
_PURPOSE_SYSTEM = "1.2.250.1.213.1.1.4.248"
_PURPOSES = frozenset({"normal", "BRIS_DE_GLACE", "CENTRE_15"})
_REQUIRED_TEXT = (
    "VIHF_Version",
    "Identifiant_Structure",
    "Secteur_Activite",
    "urn:oasis:names:tc:xspa:1.0:subject:subject-id",
    "Authentification_mode",
    "urn:oasis:names:tc:xacml:2.0:resource:resource-id",
    "Ressource_URN",
    "LPS_ID",
    "LPS_Nom",
    "LPS_Version",
    "LPS_ID_HOMOLOGATION_DMP",
)

#: Text of the DMP when the structure of the VIHF does not match the certificate.
STRUCTURE_MISMATCH = "Erreur d'authentification de la personne morale"


class VihfError(Exception):
    """The VIHF is refused; ``message`` is the text of the SOAP fault."""

    def __init__(self, message: str, subcode: str = "wsse:FailedAuthentication") -> None:
        super().__init__(message)
        self.message = message
        self.subcode = subcode


@dataclass(frozen=True, slots=True)
class Vihf:
    """What the mock uses from a verified VIHF (health data: no repr of the INS)."""

    structure_id: str
    mode: str
    patient_id: str  # resource-id, as sent: <INS>^^^&<OID>&ISO^NH
    subject_id: str
    name_id: str
    roles: tuple[tuple[str, str], ...]  # (code, codeSystem)
    purpose: str
    certificate_ou: str
    attributes: dict[str, str] = field(repr=False, default_factory=dict)
    assertion_id: str = ""
    issue_instant: dt.datetime | None = None

    @property
    def reinforced(self) -> bool:
        return self.mode == "INDIRECTE_RENFORCEE"


def _instant(value: str) -> dt.datetime:
    """A SAML ``dateTime`` (UTC, ``Z`` or an offset; fractional seconds allowed)."""
    try:
        instant = dt.datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        raise VihfError(f"VIHF invalide : IssueInstant {value!r} illisible") from None
    if instant.tzinfo is None:
        raise VihfError(f"VIHF invalide : IssueInstant {value!r} sans fuseau (UTC attendu)")
    return instant


def _normalise_dn(value: str) -> str:
    return ",".join(part.strip().replace(" = ", "=") for part in value.split(",")).upper()


def verify_vihf(header: etree._Element, ca_file: Path, tls_ou: str) -> Vihf:
    """Verify the VIHF in the SOAP ``Header``; raise :class:`VihfError` when refused."""
    from signxml.exceptions import InvalidInput, InvalidSignature, SignXMLException
    from signxml.verifier import SignatureConfiguration, XMLVerifier

    security = header.findall(f"{{{WSSE_NS}}}Security")
    if len(security) != 1:
        raise VihfError("VIHF absent : en-tête wsse:Security manquant ou multiple")
    assertions = security[0].findall(f"{{{SAML_NS}}}Assertion")
    if len(assertions) != 1 or len(security[0]) != 1:
        raise VihfError("VIHF invalide : wsse:Security doit contenir une seule assertion")
    assertion = assertions[0]
    assertion_id = assertion.get("ID", "")
    signature = assertion.find(f"{{{DS_NS}}}Signature")
    if signature is None:
        raise VihfError("VIHF non signé")
    children = list(assertion)
    issuer = assertion.find(f"{{{SAML_NS}}}Issuer")
    if issuer is None or children.index(signature) != children.index(issuer) + 1:
        raise VihfError("VIHF invalide : la signature doit suivre immédiatement Issuer")
    try:
        result = XMLVerifier().verify(
            etree.tostring(assertion),
            ca_pem_file=str(ca_file),
            expect_config=SignatureConfiguration(require_x509=True, expect_references=1),
        )
    except (InvalidSignature, InvalidInput, SignXMLException, etree.LxmlError, ValueError) as exc:
        raise VihfError(f"Signature du VIHF invalide : {exc}") from exc
    signed = result[0].signed_xml if isinstance(result, list) else result.signed_xml
    if (
        signed is None
        or signed.tag != f"{{{SAML_NS}}}Assertion"
        or signed.get("ID") != assertion_id
    ):
        raise VihfError("Signature du VIHF invalide : elle ne couvre pas l'assertion")
    cert_text = signature.findtext(f".//{{{DS_NS}}}X509Certificate") or ""
    try:
        cert = x509.load_der_x509_certificate(base64.b64decode("".join(cert_text.split())))
    except ValueError as exc:  # pragma: no cover - signxml already loaded it
        raise VihfError("certificat du VIHF illisible") from exc
    ous = cert.subject.get_attributes_for_oid(NameOID.ORGANIZATIONAL_UNIT_NAME)
    cert_ou = str(ous[0].value) if ous else ""

    issuer_text = (signed.findtext(f"{{{SAML_NS}}}Issuer") or "").strip()
    if _normalise_dn(issuer_text) != _normalise_dn(cert.subject.rfc4514_string()):
        raise VihfError("VIHF invalide : Issuer n'est pas le DN du certificat de signature")
    name_id = (signed.findtext(f"{{{SAML_NS}}}Subject/{{{SAML_NS}}}NameID") or "").strip()
    if not name_id:
        raise VihfError("VIHF invalide : Subject/NameID absent")
    class_ref = signed.findtext(
        f"{{{SAML_NS}}}AuthnStatement/{{{SAML_NS}}}AuthnContext/{{{SAML_NS}}}AuthnContextClassRef"
    )
    if not (class_ref or "").strip():
        raise VihfError("VIHF invalide : AuthnContextClassRef absent")

    texts: dict[str, str] = {}
    roles: list[tuple[str, str]] = []
    purpose = ""
    for attribute in signed.iter(f"{{{SAML_NS}}}Attribute"):
        name = attribute.get("Name", "")
        values = attribute.findall(f"{{{SAML_NS}}}AttributeValue")
        if name == "urn:oasis:names:tc:xacml:2.0:subject:role":
            for value in values:
                role = value.find(f"{{{HL7_NS}}}Role")
                if role is not None:
                    roles.append((role.get("code", ""), role.get("codeSystem", "")))
        elif name == "urn:oasis:names:tc:xspa:1.0:subject:purposeofuse":
            for value in values:
                use = value.find(f"{{{HL7_NS}}}PurposeOfUse")
                if use is not None and use.get("codeSystem") == _PURPOSE_SYSTEM:
                    purpose = use.get("code", "")
        elif values:
            texts[name] = (values[0].text or "").strip()
    missing = [name for name in _REQUIRED_TEXT if not texts.get(name)]
    if missing:
        raise VihfError(f"VIHF invalide : attribut(s) absent(s) : {', '.join(missing)}")
    if texts["VIHF_Version"] != "3.0":
        raise VihfError(f"VIHF invalide : VIHF_Version {texts['VIHF_Version']!r} (attendu 3.0)")
    mode = texts["Authentification_mode"]
    if mode not in AUTH_MODES:
        raise VihfError(
            f"Mode d'authentification {mode!r} refusé : un certificat de personne morale "
            "n'autorise que INDIRECTE ou INDIRECTE_RENFORCEE"
        )
    if texts["Ressource_URN"] != "urn:dmp":
        raise VihfError("VIHF invalide : Ressource_URN doit valoir urn:dmp")
    if not roles or not all(system in _ROLE_SYSTEMS for _, system in roles) or len(roles) > 4:
        raise VihfError("VIHF invalide : rôle (subject:role) absent ou mal codé")
    if purpose not in _PURPOSES:
        raise VihfError("VIHF invalide : purposeofuse absent ou inconnu")
    structure = texts["Identifiant_Structure"]
    if not (structure == cert_ou == tls_ou):
        raise VihfError(STRUCTURE_MISMATCH)
    return Vihf(
        assertion_id=assertion_id,
        issue_instant=_instant(signed.get("IssueInstant", "")),
        structure_id=structure,
        mode=mode,
        patient_id=texts["urn:oasis:names:tc:xacml:2.0:resource:resource-id"],
        subject_id=texts["urn:oasis:names:tc:xspa:1.0:subject:subject-id"],
        name_id=name_id,
        roles=tuple(roles),
        purpose=purpose,
        certificate_ou=cert_ou,
        attributes=texts,
    )


class VihfFreshness:
    """Age and single use of verified VIHFs: refuse an old, future or replayed assertion.

    Assertion IDs are remembered until their VIHF has expired anyway, so memory stays
    bounded by the request rate over ``lifetime``.
    """

    def __init__(
        self,
        lifetime: float = VIHF_LIFETIME,
        skew: float = VIHF_CLOCK_SKEW,
        clock: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
    ) -> None:
        self.lifetime = lifetime
        self.skew = skew
        self._clock = clock
        self._lock = threading.Lock()
        self._seen: dict[str, dt.datetime] = {}

    def check(self, vihf: Vihf) -> None:
        """Raise :class:`VihfError` unless ``vihf`` is recent and seen for the first time."""
        issued = vihf.issue_instant
        if issued is None or not vihf.assertion_id:
            raise VihfError("VIHF invalide : ID et IssueInstant de l'assertion obligatoires")
        now = self._clock()
        if issued > now + dt.timedelta(seconds=self.skew):
            raise VihfError(
                f"VIHF invalide : IssueInstant {issued.isoformat()} est dans le futur "
                f"(heure du DMP {now.isoformat(timespec='seconds')})"
            )
        expires = issued + dt.timedelta(seconds=self.lifetime + self.skew)
        if now > expires:
            raise VihfError(
                f"VIHF expiré : émis le {issued.isoformat()}, durée de vie "
                f"{self.lifetime:g} secondes"
            )
        with self._lock:
            for assertion_id, until in list(self._seen.items()):
                if until < now:
                    del self._seen[assertion_id]
            if vihf.assertion_id in self._seen:
                raise VihfError(
                    f"VIHF rejoué : l'assertion {vihf.assertion_id} a déjà servi "
                    "(un VIHF ne vaut que pour une seule requête)"
                )
            self._seen[vihf.assertion_id] = expires

    def clear(self) -> None:
        with self._lock:
            self._seen.clear()
