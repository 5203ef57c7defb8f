"""VIHF signing, XAdES signature, MTOM framing (pure)."""

from __future__ import annotations

import datetime as dt

import pytest
from lxml import etree

from segurlink.config import SoftwareIdentity, TlsConfig
from segurlink.dmp import (
    DmpSettings,
    MtomPart,
    ResponsiblePerson,
    Signer,
    Vihf,
    build_mtom,
    parse_mtom,
    parse_vihf,
    sign_submission_set,
    sign_vihf,
    verify_vihf,
)
from segurlink.dmp.mtom import resolve_xop
from segurlink.errors import InputError, MalformedResponse, XmlSecurityError
from segurlink.psc.models import ProfessionalIdentity, PscActivity, PscExercice
from tests.dmp import factory as f
from tests.dmp.conftest import make_signer

SETTINGS = DmpSettings(
    endpoint="https://127.0.0.1:1/dmp",
    tls=TlsConfig(),
    signing_cert=__import__("pathlib").Path("unused.pem"),
    signing_key=__import__("pathlib").Path("unused.key"),
    software=SoftwareIdentity(
        "segurlink-test", "1.0", "R1234567", "6f1c1b1e-3a52-4f57-9c1d-5e6b2f0a7d31"
    ),
    structure_id="1010000016",
    structure_name="EHPAD SEGURLINK TEST",
    responsible=ResponsiblePerson("810100000001", "RESPONSABLE", "ROBERT"),
    homologation_id="SEGURLINK-DMP-HOMOL",
)


def _signed(signer: Signer, **kwargs: object) -> bytes:
    vihf = Vihf.for_responsible(SETTINGS, f.patient_ins(), issuer=signer.subject, **kwargs)  # type: ignore[arg-type]
    return etree.tostring(sign_vihf(vihf.to_element(), signer))


def test_vihf_for_responsible_person_is_signed_after_issuer(signer: Signer) -> None:
    data = _signed(signer)
    facts = parse_vihf(data)
    assert facts["signature_after_issuer"]
    assert (
        facts["issuer"] == "CN=EHPAD SEGURLINK TEST SIGN,OU=1010000016,O=EHPAD SEGURLINK TEST,C=FR"
    )
    assert facts["subject"] == "810100000001"
    attrs = facts["attributes"]
    assert attrs["Identifiant_Structure"] == ["1010000016"]
    assert attrs["Authentification_mode"] == ["INDIRECTE"]
    assert attrs["urn:oasis:names:tc:xacml:2.0:resource:resource-id"] == [
        "275126322074974^^^&1.2.250.1.213.1.4.8&ISO^NH"
    ]
    assert attrs["urn:oasis:names:tc:xacml:2.0:subject:role"] == ["10^1.2.250.1.71.1.2.7"]
    assert attrs["LPS_ID_HOMOLOGATION_DMP"] == ["SEGURLINK-DMP-HOMOL"]
    assert b"rsa-sha256" in data and b"xml-exc-c14n" in data
    verify_vihf(data, signer.cert_pem)


def test_reinforced_mode_adds_authn_context_decl(signer: Signer) -> None:
    facts = parse_vihf(_signed(signer, mode="indirect_reinforced"))
    assert facts["attributes"]["Authentification_mode"] == ["INDIRECTE_RENFORCEE"]
    assert facts["authn_decl"]


def test_tampered_or_foreign_vihf_does_not_verify(signer: Signer) -> None:
    data = _signed(signer)
    with pytest.raises(XmlSecurityError):
        verify_vihf(
            data.replace(
                b"1010000016</saml2:AttributeValue>", b"1999999999</saml2:AttributeValue>"
            ),
            signer.cert_pem,
        )
    with pytest.raises(XmlSecurityError):
        verify_vihf(data, make_signer().cert_pem)


def test_vihf_from_psc_userinfo_uses_profession_and_speciality(signer: Signer) -> None:
    pro = ProfessionalIdentity(
        national_id="810001234567",
        given_name="Roberta",
        family_name="BLEEDER",
        exercices=(PscExercice(profession="60", speciality="SM26"),),
    )
    vihf = Vihf.from_professional(SETTINGS, f.patient_ins(), pro, issuer=signer.subject)
    facts = parse_vihf(etree.tostring(vihf.to_element()))
    assert facts["subject"] == "810001234567"
    assert facts["attributes"]["urn:oasis:names:tc:xacml:2.0:subject:role"] == [
        "60^1.2.250.1.71.1.2.7",
        "SM26^1.2.250.1.71.4.2.5",
    ]


def test_vihf_from_psc_uses_the_activity_in_the_structure(signer: Signer) -> None:
    elsewhere = PscExercice(
        profession="10", activities=(PscActivity(sector="SA01", finess_site="750000001"),)
    )
    here = PscExercice(
        profession="60",
        speciality="SM26",
        activities=(PscActivity(sector="SA16", finess_legal_entity="010000016"),),
    )
    pro = ProfessionalIdentity(national_id="810001234567", exercices=(elsewhere, here))
    vihf = Vihf.from_professional(SETTINGS, f.patient_ins(), pro, issuer=signer.subject)
    attrs = parse_vihf(etree.tostring(vihf.to_element()))["attributes"]
    assert attrs["urn:oasis:names:tc:xacml:2.0:subject:role"] == [
        "60^1.2.250.1.71.1.2.7",
        "SM26^1.2.250.1.71.4.2.5",
    ]
    assert attrs["Secteur_Activite"] == ["SA16^1.2.250.1.71.4.2.4"]
    assert attrs["Identifiant_Structure"] == ["1010000016"]
    # Activities elsewhere only: the structure's certificate cannot speak for them.
    stranger = ProfessionalIdentity(national_id="810001234567", exercices=(elsewhere,))
    with pytest.raises(InputError, match="no activity in the structure"):
        Vihf.from_professional(SETTINGS, f.patient_ins(), stranger, issuer=signer.subject)
    # No exercice at all: the role comes from SubjectRole, the sector from the settings.
    bare = ProfessionalIdentity(national_id="810001234567", roles=("10^1.2.250.1.71.1.2.7",))
    attrs = parse_vihf(
        etree.tostring(
            Vihf.from_professional(
                SETTINGS, f.patient_ins(), bare, issuer=signer.subject
            ).to_element()
        )
    )["attributes"]
    assert attrs["urn:oasis:names:tc:xacml:2.0:subject:role"] == ["10^1.2.250.1.71.1.2.7"]
    assert attrs["Secteur_Activite"] == ["SA17^1.2.250.1.71.4.2.4"]


def test_xades_signature_verifies_and_lists_the_documents(signer: Signer) -> None:
    from signxml import XMLVerifier  # type: ignore[attr-defined]

    data = f.cda()
    xml = sign_submission_set(
        signer, "1.2.3.1", {"2.25.1000": data}, at=dt.datetime(2024, 3, 1, tzinfo=dt.UTC)
    )
    root = etree.fromstring(xml)
    ds = "{http://www.w3.org/2000/09/xmldsig#}"
    uris = [r.get("URI") for r in root.iter(f"{ds}Reference")]
    assert "urn:oid:2.25.1000" in uris and "urn:oid:1.2.3.1" in uris
    results = XMLVerifier().verify(xml, x509_cert=signer.cert_pem.decode(), expect_references=2)
    assert len(results) == 2  # type: ignore[arg-type]


def test_mtom_round_trip_keeps_binary_bytes_identical() -> None:
    pdf = bytes(range(256)) * 40 + b"\r\n--\r\n"
    body, ctype = build_mtom(
        b"<env/>", [MtomPart("a@x", pdf), MtomPart("b@x", b"\r\n")], action="urn:a"
    )
    assert ctype.startswith("multipart/related;") and 'start-info="application/soap+xml"' in ctype
    message = parse_mtom(body, ctype)
    assert message.root == b"<env/>"
    assert message.parts == {"a@x": pdf, "b@x": b"\r\n"}


def test_truncated_multipart_is_malformed() -> None:
    body, ctype = build_mtom(b"<env/>", [MtomPart("a@x", b"x" * 1000)], action="urn:a")
    for cut in (len(body) - 5, len(body) // 2, 10):
        with pytest.raises(MalformedResponse):
            parse_mtom(body[:cut], ctype)
    with pytest.raises(MalformedResponse):
        parse_mtom(body, "multipart/related; type=application/xop+xml")


def test_xop_include_to_a_missing_part_is_malformed() -> None:
    el = etree.fromstring(
        b'<Document xmlns:xop="http://www.w3.org/2004/08/xop/include"><xop:Include href="cid:nope"/></Document>'
    )
    with pytest.raises(MalformedResponse, match="missing part"):
        resolve_xop(el, {})
    assert resolve_xop(el, {"nope": b"ok"}) == b"ok"


def test_a_signing_key_that_is_not_the_certificates_is_a_configuration_error(
    signer: Signer,
) -> None:
    from segurlink.errors import ConfigurationError
    from tests.dmp.conftest import make_signer

    other = make_signer()
    mixed = Signer(signer.cert_pem, other.key_pem)
    with pytest.raises(ConfigurationError, match="does not match"):
        mixed.private_key()
    assert Signer(signer.cert_pem, signer.key_pem).private_key() is not None
    with pytest.raises(ConfigurationError, match="cannot load"):
        Signer(
            signer.cert_pem, b"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"
        ).private_key()
