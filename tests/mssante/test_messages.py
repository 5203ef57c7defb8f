"""Pure composition and reading of MSSanté messages: headers, subject, XDM, receipts."""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import io
import itertools
import uuid
import zipfile
from email import policy
from email.parser import BytesParser
from typing import Any

import pytest
from lxml import etree

from segurlink.cda import build_document
from segurlink.errors import IdentityStatusError, InputError, XdmError, XmlSecurityError
from segurlink.identity import IdentityStatus
from segurlink.mssante import (
    ApplicationError,
    Draft,
    ReceiptKind,
    compose,
    parse_message,
    parse_receipts,
    parse_xdm,
)
from tests.conftest import shared_path
from tests.dmp.factory import DOMINIQUE, ZOE, cda, make_document, record, replacement

SENDER = "dui-ehpad@segurlink-test.mssante.fr"
DOCTOR = "dr.destinataire@hopital-test.mssante.fr"
NOW = dt.datetime(2024, 3, 2, 9, 0, tzinfo=dt.UTC)
RIM = "urn:oasis:names:tc:ebxml-regrep:xsd:rim:3.0"


def uuids() -> Any:
    counter = itertools.count(1)
    return lambda: uuid.UUID(int=next(counter))


def build(draft: Draft, **kwargs: Any) -> Any:
    return compose(draft, now=NOW, uuid_factory=uuids(), product_reference="R1234567", **kwargs)


def headers(data: bytes) -> Any:
    return BytesParser(policy=policy.default).parsebytes(data)


# -- composition -------------------------------------------------------------------------------


def test_composition_is_deterministic_and_carries_every_mss_header() -> None:
    draft = Draft(sender=SENDER, to=(DOCTOR,), documents=(cda(),), text="Bonjour")
    first, second = build(draft), build(draft)
    assert first.data == second.data
    msg = headers(first.data)
    assert msg["Subject"] == "XDM/1.0/DDM+Projet personnalisé d'accompagnement ADRUN ZOE 31/12/1975"
    assert msg["X-MSS-CODECDA"] == "80788-3"
    assert msg["X-MSS-INS"] == "O"
    assert msg["X-MSS-NIL"] == "R1234567"
    assert msg["X-MSS-MES"] is None
    assert msg["Message-ID"] == "<00000000-0000-0000-0000-000000000001@segurlink-test.mssante.fr>"
    assert msg["Disposition-Notification-To"] == SENDER
    assert msg["Date"] == "Sat, 02 Mar 2024 09:00:00 +0000"
    assert first.recipients == (DOCTOR,)
    names = [p.get_filename() for p in msg.iter_attachments()]
    assert names == ["20240228_Projet personnalisé d'accompagnement_ADRUN_ZOE.pdf", "IHE_XDM.ZIP"]
    assert b"\r\n" in first.data and b"\n\n" not in first.data.replace(b"\r\n", b"")


def test_no_receipt_no_disposition_header_and_no_mss_headers_without_cda() -> None:
    message = build(
        Draft(sender=SENDER, to=(DOCTOR,), text="Merci", subject="Réponse", receipt=False)
    )
    msg = headers(message.data)
    assert msg["Disposition-Notification-To"] is None
    assert msg["X-MSS-CODECDA"] is None and msg["X-MSS-INS"] is None
    assert msg["X-MSS-NIL"] == "R1234567"
    assert msg["Subject"] == "Réponse"


def test_threading_headers() -> None:
    message = build(
        Draft(
            sender=SENDER,
            to=(DOCTOR,),
            text="ok",
            subject="Re",
            in_reply_to="<a@x>",
            references=("<root@x>",),
        )
    )
    msg = headers(message.data)
    assert msg["In-Reply-To"] == "<a@x>"
    assert msg["References"] == "<root@x> <a@x>"


def test_patient_address_only_from_a_qualified_identity() -> None:
    qualified = record(ZOE)
    message = build(
        Draft(
            sender=SENDER,
            to=(DOCTOR,),
            documents=(cda(),),
            patient=qualified,
            patient_may_reply=False,
        )
    )
    assert message.recipients == (DOCTOR, "275126322074974@patient.mssante.fr")
    assert headers(message.data)["X-MSS-MES"] == "FIN"
    recup = dataclasses.replace(qualified, status=IdentityStatus.RECUP, id_document=None)
    with pytest.raises(IdentityStatusError):
        build(Draft(sender=SENDER, to=(DOCTOR,), documents=(cda(),), patient=recup))
    with pytest.raises(IdentityStatusError):  # a typed patient address is refused
        build(Draft(sender=SENDER, to=("275126322074974@patient.mssante.fr",), documents=(cda(),)))
    with pytest.raises(InputError, match="not about the patient"):
        build(Draft(sender=SENDER, to=(DOCTOR,), documents=(cda(),), patient=record(DOMINIQUE)))
    from_document = build(Draft(sender=SENDER, documents=(cda(),), patient_from_document=True))
    assert from_document.recipients == ("275126322074974@patient.mssante.fr",)


def test_one_patient_per_message_and_subject_rule() -> None:
    with pytest.raises(InputError, match="one patient per message"):
        build(Draft(sender=SENDER, to=(DOCTOR,), documents=(cda(ZOE), cda(DOMINIQUE, seed=2))))
    with pytest.raises(InputError, match=r"XDM/1\.0/DDM"):
        build(Draft(sender=SENDER, to=(DOCTOR,), documents=(cda(),), subject="mine"))
    with pytest.raises(InputError, match="recipient"):
        build(Draft(sender=SENDER, documents=(cda(),)))
    with pytest.raises(InputError, match="e-mail address"):
        build(Draft(sender=SENDER, to=("nobody",), documents=(cda(),)))
    # Without documents the caller writes the subject; none (or blanks) is refused before
    # anything is sent (operators answer 550 5.6.0 after the upload).
    for subject in ("", "   "):
        with pytest.raises(InputError, match="needs a subject"):
            build(Draft(sender=SENDER, to=(DOCTOR,), text="Bonjour", subject=subject))
    plain = build(Draft(sender=SENDER, to=(DOCTOR,), text="Bonjour", subject=" Admission "))
    assert headers(plain.data)["Subject"] == "Admission"


def test_replacement_and_deletion_set_the_xdm_action_slot() -> None:
    v1 = make_document()
    v2 = build_document(replacement(v1, seed=2))
    message = build(Draft(sender=SENDER, to=(DOCTOR,), documents=(v2,), action="replace"))
    assert parse_xdm(message.xdm).documents[0].entry.action == "C"
    assert "annule et remplace" in parse_message(message.data).text
    with pytest.raises(InputError, match="RPLC"):
        build(Draft(sender=SENDER, to=(DOCTOR,), documents=(cda(),), action="replace"))
    deleted = build(Draft(sender=SENDER, to=(DOCTOR,), documents=(cda(),), action="delete"))
    assert parse_xdm(deleted.xdm).documents[0].entry.action == "D"


# -- the XDM read back -------------------------------------------------------------------------


def test_xdm_read_back_field_by_field() -> None:
    document = cda()
    message = build(Draft(sender=SENDER, to=(DOCTOR,), documents=(document,)))
    received = parse_message(message.data)
    package = received.xdm
    assert package is not None and package.subset == "IHE_XDM/SUBSET01"
    assert package.patient_id == "275126322074974^^^&1.2.250.1.213.1.4.8&ISO^NH"
    assert package.submission_unique_id == f"2.25.{uuid.UUID(int=2).int}"
    assert package.submission_time == "20240302090000"
    assert "Sender: " + SENDER in package.readme
    (doc,) = package.documents
    assert doc.content == document
    entry = doc.entry
    assert (entry.uri, entry.mime_type, entry.type_code, entry.class_code) == (
        "DOC0001.XML",
        "text/xml",
        "80788-3",
        "44",
    )
    assert entry.size == len(document)
    assert entry.hash == hashlib.sha1(document).hexdigest()
    assert entry.patient_id == package.patient_id
    assert entry.unique_id == message.document_ids[0]
    assert entry.format_code == "urn:ihe:iti:xds-sd:pdf:2008"
    assert entry.title == "Projet personnalisé d'accompagnement"
    names = zipfile.ZipFile(io.BytesIO(message.xdm)).namelist()
    assert names == [
        "README.TXT",
        "INDEX.HTM",
        "IHE_XDM/SUBSET01/METADATA.XML",
        "IHE_XDM/SUBSET01/DOC0001.XML",
    ]
    assert received.headers == {
        "X-MSS-CODECDA": "80788-3",
        "X-MSS-INS": "O",
        "X-MSS-NIL": "R1234567",
    }
    assert received.sender == SENDER and received.recipients == (DOCTOR,)


def test_metadata_xml_is_valid_against_the_official_ebrim_schemas() -> None:
    xsd = shared_path("dmp-package", "wsdl", "schema", "ebRS", "lcm.xsd")
    schema = etree.XMLSchema(etree.parse(str(xsd)))
    message = build(
        Draft(sender=SENDER, to=(DOCTOR,), documents=(cda(), cda(seed=2)), action="delete")
    )
    with zipfile.ZipFile(io.BytesIO(message.xdm)) as archive:
        metadata = etree.fromstring(archive.read("IHE_XDM/SUBSET01/METADATA.XML"))
    schema.assertValid(metadata)
    slots = {s.get("name") for s in metadata.iter(f"{{{RIM}}}Slot")}
    assert {"URI", "size", "hash", "action"} <= slots


def test_the_dmp_metadata_output_has_no_xdm_slot() -> None:
    from segurlink.cda import parse_header
    from segurlink.dmp.metadata import document_entry_element, document_entry_from_header

    document = cda()
    element = document_entry_element(document_entry_from_header(parse_header(document), document))
    names = [s.get("name") for s in element.iter(f"{{{RIM}}}Slot")]
    assert "URI" not in names and "action" not in names


def _zip(entries: dict[str, bytes], *, compression: int = zipfile.ZIP_DEFLATED) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression) as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def _valid_entries() -> dict[str, bytes]:
    message = build(Draft(sender=SENDER, to=(DOCTOR,), documents=(cda(),)))
    with zipfile.ZipFile(io.BytesIO(message.xdm)) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def test_reader_follows_metadata_into_another_subset_folder() -> None:
    entries = _valid_entries()
    metadata = entries.pop("IHE_XDM/SUBSET01/METADATA.XML")
    document = entries.pop("IHE_XDM/SUBSET01/DOC0001.XML")
    # ANS imaging example: IHE_XDM/SS000001/ with URIs relative to IHE_XDM/
    entries["IHE_XDM/SS000001/METADATA.XML"] = metadata.replace(
        b"<rim:Value>DOC0001.XML</rim:Value>", b"<rim:Value>SS000001/DOC0001.XML</rim:Value>"
    )
    entries["IHE_XDM/SS000001/DOC0001.XML"] = document
    package = parse_xdm(_zip(entries))
    assert package.subset == "IHE_XDM/SS000001"
    assert package.documents[0].content == document


@pytest.mark.parametrize(
    ("name", "problem"),
    [
        ("../../etc/cron.d/evil", "'..'"),
        ("IHE_XDM/SUBSET01/../../x", "'..'"),
        ("/etc/passwd", "absolute"),
        ("C:/Windows/x", "absolute"),
        ("IHE_XDM\\SUBSET01\\x", "unsafe"),
    ],
)
def test_zip_slip_names_are_refused(name: str, problem: str) -> None:
    entries = _valid_entries()
    entries[name] = b"x"
    with pytest.raises(XdmError, match=problem):
        parse_xdm(_zip(entries))


def test_zip_bomb_is_refused_before_extraction() -> None:
    entries = _valid_entries()
    entries["IHE_XDM/SUBSET01/BOMB.XML"] = b"\0" * (20 * 1024 * 1024)
    with pytest.raises(XdmError, match="zip bomb"):
        parse_xdm(_zip(entries))


def test_declared_size_over_the_limit_is_refused() -> None:
    from segurlink.mssante import XdmLimits

    with pytest.raises(XdmError, match="limit"):
        parse_xdm(
            _zip(_valid_entries(), compression=zipfile.ZIP_STORED),
            limits=XdmLimits(max_entry_size=1000),
        )
    with pytest.raises(XdmError, match="entries"):
        parse_xdm(_zip(_valid_entries()), limits=XdmLimits(max_entries=2))


def test_xxe_in_metadata_is_refused() -> None:
    entries = _valid_entries()
    entries["IHE_XDM/SUBSET01/METADATA.XML"] = (
        b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]><r>&x;</r>'
    )
    with pytest.raises(XmlSecurityError):
        parse_xdm(_zip(entries))


def test_document_differing_from_its_metadata_is_refused() -> None:
    entries = _valid_entries()
    entries["IHE_XDM/SUBSET01/DOC0001.XML"] += b" "
    with pytest.raises(XdmError, match="bytes, METADATA says"):
        parse_xdm(_zip(entries))
    entries = _valid_entries()
    document = bytearray(entries["IHE_XDM/SUBSET01/DOC0001.XML"])
    document[-3] = ord("X") if document[-3] != ord("X") else ord("Y")
    entries["IHE_XDM/SUBSET01/DOC0001.XML"] = bytes(document)
    with pytest.raises(XdmError, match="SHA-1"):
        parse_xdm(_zip(entries))


def test_missing_metadata_and_not_a_zip_are_refused() -> None:
    entries = _valid_entries()
    del entries["IHE_XDM/SUBSET01/METADATA.XML"]
    with pytest.raises(XdmError, match="METADATA"):
        parse_xdm(_zip(entries))
    with pytest.raises(XdmError, match="zip"):
        parse_xdm(b"PK not really")


def test_a_refused_archive_can_be_kept_packed() -> None:
    message = build(Draft(sender=SENDER, to=(DOCTOR,), documents=(cda(),)))
    kept = parse_message(message.data, skip_xdm="refused for the test")
    assert kept.xdm is None and kept.xdm_error == "refused for the test"
    assert "IHE_XDM.ZIP" in [a.filename for a in kept.attachments]


# -- receipts: ANS's published examples and our own shapes -------------------------------------


def test_ans_negative_mdn_902_is_parsed() -> None:
    data = shared_path("mssante-samples", "mdn_negative_902.eml.txt").read_bytes()
    (receipt,) = parse_receipts(data, known=lambda mid: mid == "<199509192301.23456>")
    assert receipt.kind is ReceiptKind.MDN
    assert receipt.original_message_id == "<199509192301.23456>"
    assert receipt.known
    assert receipt.recipient == "serviceY_auto@chb.mssante.fr"
    assert receipt.error == ApplicationError(
        902, "Identifiant de patient inconnu", "messageErrorCondition| E^Error^errorSeverity"
    )
    assert not receipt.ok


def test_ans_standard_error_mail_902_is_parsed() -> None:
    data = shared_path("mssante-samples", "standard_error_email_902.eml.txt").read_bytes()
    (receipt,) = parse_receipts(data)
    assert receipt.kind is ReceiptKind.ERROR_MAIL
    assert receipt.error is not None
    assert (receipt.error.code, receipt.error.label) == (902, "Identifiant de patient inconnu")
    assert receipt.original_message_id == ""  # the example's original is a placeholder
    assert not receipt.ok


def test_application_error_codes() -> None:
    assert ApplicationError.parse("900").label.startswith("Version")
    assert ApplicationError.parse("906^Autre").known
    assert not ApplicationError.parse("950^x").known
    with pytest.raises(ValueError):
        ApplicationError.parse("abc^label")


def test_positive_mdn_and_dsn() -> None:
    mdn = (
        b"From: x@hopital-test.mssante.fr\r\nTo: me@segurlink-test.mssante.fr\r\n"
        b"Message-ID: <m1@x>\r\nMIME-Version: 1.0\r\n"
        b'Content-Type: multipart/report; report-type=disposition-notification; boundary="b"\r\n'
        b"\r\n--b\r\nContent-Type: text/plain\r\n\r\nok\r\n"
        b"--b\r\nContent-Type: message/disposition-notification\r\n\r\n"
        b"Final-Recipient: rfc822; x@hopital-test.mssante.fr\r\n"
        b"Original-Message-ID: <sent@me>\r\n"
        b"Disposition: automatic-action/MDN-sent-automatically; processed\r\n\r\n--b--\r\n"
    )
    (receipt,) = parse_receipts(mdn)
    assert receipt.ok and receipt.error is None and receipt.original_message_id == "<sent@me>"
    dsn = (
        b"From: MAILER-DAEMON@x\r\nTo: me@x\r\nMIME-Version: 1.0\r\n"
        b'Content-Type: multipart/report; report-type=delivery-status; boundary="b"\r\n\r\n'
        b"--b\r\nContent-Type: text/plain\r\n\r\nfailed\r\n"
        b"--b\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; x\r\n\r\n"
        b"Final-Recipient: rfc822; a@x\r\nAction: failed\r\nStatus: 5.1.1\r\n\r\n"
        b"Final-Recipient: rfc822; b@x\r\nAction: delivered\r\nStatus: 2.0.0\r\n\r\n"
        b"--b\r\nContent-Type: text/rfc822-headers\r\n\r\nMessage-ID: <sent@me>\r\n\r\n--b--\r\n"
    )
    failed, delivered = parse_receipts(dsn)
    assert (failed.recipient, failed.status, failed.ok) == ("a@x", "5.1.1", False)
    assert (delivered.recipient, delivered.ok) == ("b@x", True)
    assert failed.original_message_id == "<sent@me>"
    assert parse_receipts(b"From: a@b\r\nSubject: hello\r\n\r\nbody\r\n") == ()
