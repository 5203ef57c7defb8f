"""MSSanté messages as written and as read: every header, part and refusal, whole.

The companion of test_messages.py (which follows the features): here each value a mail
server, a receiving DUI or a user reads is held exactly, so that a header written under
another name, a part lost or a refusal saying something else shows.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
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
from segurlink.errors import (
    IdentityStatusError,
    InputError,
    MalformedResponse,
    ValidationError,
)
from segurlink.mssante import (
    ApplicationError,
    Attachment,
    Draft,
    ReceiptKind,
    compose,
    parse_message,
    parse_receipts,
    parse_xdm,
)
from segurlink.mssante.messages import (
    normalize_message_id,
    patient_address,
    readable_pdf_name,
    subject_for,
)
from tests.dmp.factory import PDF, ZOE, cda, make_document, record, replacement

SENDER = "dui-ehpad@segurlink-test.mssante.fr"
DOCTOR = "dr.destinataire@hopital-test.mssante.fr"
SECRETARY = "secretariat@hopital-test.mssante.fr"
PATIENT = "275126322074974@patient.mssante.fr"
NOW = dt.datetime(2024, 3, 2, 9, 0, tzinfo=dt.UTC)
RIM = "urn:oasis:names:tc:ebxml-regrep:xsd:rim:3.0"
BOUNDARY = "=_segurlink_00000000000000000000000000000003"
MESSAGE_ID = "<00000000-0000-0000-0000-000000000001@segurlink-test.mssante.fr>"


def uuids() -> Any:
    counter = itertools.count(1)
    return lambda: uuid.UUID(int=next(counter))


def build(draft: Draft, **kwargs: Any) -> Any:
    options: dict[str, Any] = {"now": NOW, "uuid_factory": uuids(), "product_reference": "R1"}
    options.update(kwargs)
    return compose(draft, **options)


def _head(data: bytes) -> list[str]:
    return data.partition(b"\r\n\r\n")[0].decode("ascii").split("\r\n")


def _parts(data: bytes) -> list[tuple[str, str | None, str | None]]:
    msg = BytesParser(policy=policy.default).parsebytes(data)
    return [
        (part.get_content_type(), part.get("Content-Transfer-Encoding"), part.get_filename())
        for part in msg.walk()
    ]


# -- composition -------------------------------------------------------------------------------


def test_the_headers_of_a_message_with_a_document_as_written() -> None:
    draft = Draft(
        sender=SENDER,
        to=(DOCTOR,),
        cc=(SECRETARY,),
        documents=(cda(),),
        text="Bonjour,\nci-joint le PPA.",
        in_reply_to="<a@x>",
        references=("<root@x>",),
    )
    message = build(draft)
    assert _head(message.data) == [
        f"From: {SENDER}",
        f"To: {DOCTOR}",
        f"Cc: {SECRETARY}",
        "Subject: XDM/1.0/DDM+Projet =?utf-8?q?personnalis=C3=A9?= d'accompagnement",
        " ADRUN ZOE 31/12/1975",
        "Date: Sat, 02 Mar 2024 09:00:00 +0000",
        f"Message-ID: {MESSAGE_ID}",
        "In-Reply-To: <a@x>",
        "References: <root@x> <a@x>",
        f"Disposition-Notification-To: {SENDER}",
        "X-MSS-CODECDA: 80788-3",
        "X-MSS-INS: O",
        "X-MSS-NIL: R1",
        "MIME-Version: 1.0",
        "Content-Type: multipart/mixed;",
        f' boundary="{BOUNDARY}"',
    ]
    assert _parts(message.data) == [
        ("multipart/mixed", None, None),
        ("text/plain", "quoted-printable", None),
        (
            "application/pdf",
            "base64",
            "20240228_Projet personnalisé d'accompagnement_ADRUN_ZOE.pdf",
        ),
        ("application/zip", "base64", "IHE_XDM.ZIP"),
    ]
    assert f"--{BOUNDARY}--".encode() in message.data
    assert (message.message_id, message.sender) == (MESSAGE_ID, SENDER)
    assert message.recipients == (DOCTOR, SECRETARY)
    received = parse_message(message.data)
    assert received.text == "Bonjour,\r\nci-joint le PPA.\r\n"
    assert received.attachments[0].content == PDF
    assert 'charset="utf-8"' in message.data.decode("ascii")


def test_a_plain_message_as_written() -> None:
    message = build(Draft(sender=SENDER, to=(DOCTOR,), subject="Réponse", receipt=False))
    assert _head(message.data) == [
        f"From: {SENDER}",
        f"To: {DOCTOR}",
        "Subject: =?utf-8?q?R=C3=A9ponse?=",
        "Date: Sat, 02 Mar 2024 09:00:00 +0000",
        f"Message-ID: {MESSAGE_ID}",
        "X-MSS-NIL: R1",
        'Content-Type: text/plain; charset="utf-8"',
        "Content-Transfer-Encoding: quoted-printable",
        "MIME-Version: 1.0",
    ]
    # an empty text is one empty line, not an empty body
    assert message.data.endswith(b"\r\n\r\n\r\n")
    assert (message.xdm, message.document_ids) == (b"", ())


def test_the_product_reference_is_trimmed_and_cc_only_is_enough() -> None:
    message = build(
        Draft(sender=SENDER, cc=(SECRETARY,), text="x", subject="x"), product_reference=" R1 "
    )
    head = _head(message.data)
    assert "X-MSS-NIL: R1" in head and f"Cc: {SECRETARY}" in head
    assert not any(line.startswith("To:") for line in head)
    assert message.recipients == (SECRETARY,)


def test_the_xdm_readme_names_the_software_and_the_metadata_its_source() -> None:
    message = build(
        Draft(sender=SENDER, to=(DOCTOR,), documents=(cda(),)),
        application="MonDUI",
        version="4.2",
        vendor="Editeur SA",
        source_oid="1.2.250.1.999.1",
    )
    package = parse_xdm(message.xdm)
    assert package.readme == (
        "IHE XDM - Distribute Document Set on Media (ITI-32)\r\n\r\n"
        f"Sender: {SENDER}\r\nApplication: MonDUI\r\nVersion: 4.2\r\nVendor: Editeur SA\r\n\r\n"
        "Content: IHE_XDM/SUBSET01/METADATA.XML describes the documents of the subset.\r\n"
    )
    assert package.source_id == "1.2.250.1.999.1"
    default = parse_xdm(build(Draft(sender=SENDER, to=(DOCTOR,), documents=(cda(),))).xdm)
    assert "\r\nApplication: segurlink\r\nVersion: \r\nVendor: \r\n" in default.readme
    assert default.source_id == "1.2.250.1.213.1.4.2"


def _content_type(xdm: bytes) -> tuple[str | None, str | None]:
    with zipfile.ZipFile(io.BytesIO(xdm)) as archive:
        metadata = etree.fromstring(archive.read("IHE_XDM/SUBSET01/METADATA.XML"))
    scheme = "urn:uuid:aa543740-bdda-424e-8c96-df4873be8500"  # contentTypeCode
    (code,) = [
        c
        for c in metadata.iter(f"{{{RIM}}}Classification")
        if c.get("classificationScheme") == scheme
    ]
    system = code.findtext(f"{{{RIM}}}Slot/{{{RIM}}}ValueList/{{{RIM}}}Value")
    return code.get("nodeRepresentation"), system


def test_the_submission_content_type_is_given_or_the_default() -> None:
    from segurlink.cda.models import Code

    draft = Draft(sender=SENDER, to=(DOCTOR,), documents=(cda(),))
    assert _content_type(build(draft).xdm) == ("04", "1.2.250.1.213.2.2")
    given = Code("SA17", "1.2.250.1.71.4.2.4", "Etablissement pour personnes âgées")
    assert _content_type(build(draft, content_type=given).xdm) == ("SA17", "1.2.250.1.71.4.2.4")


def test_two_documents_get_their_own_entry_and_readable_pdf() -> None:
    first, second = cda(), cda(seed=2)
    message = build(Draft(sender=SENDER, to=(DOCTOR,), documents=(first, second)))
    package = parse_xdm(message.xdm)
    assert [(d.entry.entry_id, d.entry.uri) for d in package.documents] == [
        ("Document01", "DOC0001.XML"),
        ("Document02", "DOC0002.XML"),
    ]
    assert [d.content for d in package.documents] == [first, second]
    pdfs = [name for kind, _, name in _parts(message.data) if kind == "application/pdf"]
    assert pdfs == [
        "20240228_Projet personnalisé d'accompagnement_ADRUN_ZOE_1.pdf",
        "20240228_Projet personnalisé d'accompagnement_ADRUN_ZOE_2.pdf",
    ]
    assert "X-MSS-CODECDA: 80788-3,80788-3" in _head(message.data)


def test_a_given_readable_pdf_replaces_the_documents_bodies() -> None:
    message = build(
        Draft(
            sender=SENDER,
            to=(DOCTOR,),
            documents=(cda(), cda(seed=2)),
            readable_pdf=b"%PDF-1.4 rendu",
            attachments=(Attachment("photo.jpg", b"\xff\xd8", "image/jpeg"),),
        )
    )
    assert [p for p in _parts(message.data) if p[0] != "multipart/mixed"] == [
        ("text/plain", "quoted-printable", None),
        (
            "application/pdf",
            "base64",
            "20240228_Projet personnalisé d'accompagnement_ADRUN_ZOE.pdf",
        ),
        ("image/jpeg", "base64", "photo.jpg"),
        ("application/zip", "base64", "IHE_XDM.ZIP"),
    ]
    received = parse_message(message.data)
    assert [a.content for a in received.attachments] == [b"%PDF-1.4 rendu", b"\xff\xd8"]


@pytest.mark.parametrize(
    ("action", "text", "body"),
    [
        (
            "replace",
            "Bonjour,  \n",
            "Bonjour,\r\n\r\nCe message annule et remplace une version précédente du document "
            "joint (le document CDA porte la référence du document remplacé).\r\n",
        ),
        (
            "delete",
            "  ",
            "Ce message signale la suppression du document joint : ne plus l'utiliser.\r\n",
        ),
    ],
)
def test_a_replacement_or_deletion_explains_itself_after_the_text(
    action: str, text: str, body: str
) -> None:
    document = (
        build_document(replacement(make_document(), seed=2)) if action == "replace" else cda()
    )
    draft = Draft(sender=SENDER, to=(DOCTOR,), documents=(document,), text=text, action=action)  # type: ignore[arg-type]
    assert parse_message(build(draft).data).text == body


def test_the_patient_receives_and_is_told_not_to_reply_only_when_asked() -> None:
    to_patient = build(Draft(sender=SENDER, to=(DOCTOR,), documents=(cda(),), patient=record(ZOE)))
    assert to_patient.recipients == (DOCTOR, PATIENT)
    assert parse_message(to_patient.data).recipients == (DOCTOR, PATIENT)
    assert not any(line.startswith("X-MSS-MES") for line in _head(to_patient.data))
    # the patient's own address, typed in any case, is the patient's: not added twice
    typed = build(
        Draft(
            sender=SENDER,
            to=(PATIENT.upper(),),
            documents=(cda(),),
            patient=record(ZOE),
            patient_may_reply=False,
        )
    )
    assert typed.recipients == (PATIENT.upper(),)
    assert "X-MSS-MES: FIN" in _head(typed.data)
    # without the patient among the recipients, no X-MSS-MES
    doctor_only = build(
        Draft(sender=SENDER, to=(DOCTOR,), documents=(cda(),), patient_may_reply=False)
    )
    assert not any(line.startswith("X-MSS-MES") for line in _head(doctor_only.data))


def test_a_document_without_ins_gives_no_patient_address() -> None:
    # X-MSS-INS is O for every document composed: the DMP metadata of the XDM need the INS.
    from tests.cda.factory import make_document as make_cda
    from tests.cda.factory import provisional_patient

    document = build_document(make_cda(patient=provisional_patient()))
    with pytest.raises(IdentityStatusError) as info:
        build(Draft(sender=SENDER, documents=(document,), patient_from_document=True))
    assert str(info.value) == (
        "the document carries no qualified INS (matricule, OID and traits): no patient address"
    )


NOT_TO_THE_PATIENT = "the documents are not about the patient the message is sent to"


@pytest.mark.parametrize(
    ("draft", "error", "message"),
    [
        (Draft(sender="nobody", to=(DOCTOR,)), InputError,
         "the sender is not an e-mail address: 'nobody'"),
        (Draft(sender=SENDER, to=("a b@x.fr",)), InputError,
         "a recipient is not an e-mail address: 'a b@x.fr'"),
        (Draft(sender=SENDER, to=(DOCTOR,), cc=("x" * 100,)), InputError,
         f"a recipient is not an e-mail address: {'x' * 80!r}"),
        (Draft(sender=SENDER), InputError, "a message needs at least one recipient"),
        (Draft(sender=SENDER, to=(PATIENT,)), IdentityStatusError,
         "a patient's MSSanté address comes only from a qualified identity: pass the "
         "patient's IdentityRecord (patient=...) instead of the address"),
        (Draft(sender=SENDER, to=(DOCTOR,), action="archive"), InputError,  # type: ignore[arg-type]
         "action is 'replace' or 'delete', not 'archive'"),
        (Draft(sender=SENDER, to=(DOCTOR,), action="delete"), InputError,
         "a replacement or a deletion needs the document"),
        (Draft(sender=SENDER, to=(DOCTOR,), documents=(cda(),), subject="mine"), InputError,
         "the subject of a message with CI-SIS documents follows the rule "
         "XDM/1.0/DDM+<title> <BIRTH NAME> <first name> <birth date>: do not set it"),
        (Draft(sender=SENDER, to=(DOCTOR,), documents=(cda(),), action="replace"), InputError,
         "a replacement carries the new CDA version, with its RPLC relatedDocument to the "
         "replaced one"),
        (Draft(sender=SENDER, to=(DOCTOR,), documents=(cda(), cda(("297022A02077878", "ADRTROIS", "DOMINIQUE", "F", "1997-02-01"), seed=2))),
         InputError, "one patient per message: the documents are about different patients"),
        (Draft(sender=SENDER, to=(DOCTOR,), patient="275126322074974"), IdentityStatusError,
         "a patient address needs the patient's IdentityRecord"),
    ],
    ids=["sender", "recipient", "long-cc", "no-recipient", "patient-address", "action",
         "action-without-document", "subject", "replace-without-rplc", "two-patients",
         "patient-not-a-record"],
)  # fmt: skip
def test_composition_refusals_whole(draft: Draft, error: type[Exception], message: str) -> None:
    with pytest.raises(error) as info:
        build(draft)
    assert str(info.value) == message


def test_a_document_of_another_patient_than_the_addressee() -> None:
    from tests.dmp.factory import DOMINIQUE

    with pytest.raises(InputError) as info:
        build(Draft(sender=SENDER, to=(DOCTOR,), documents=(cda(),), patient=record(DOMINIQUE)))
    assert str(info.value) == NOT_TO_THE_PATIENT


def test_composition_needs_an_aware_time_and_a_product_reference() -> None:
    draft = Draft(sender=SENDER, to=(DOCTOR,), text="x")
    with pytest.raises(InputError) as info:
        build(draft, now=NOW.replace(tzinfo=None))
    assert str(info.value) == "compose needs an aware datetime (time zone)"
    with pytest.raises(InputError) as info:
        build(draft, product_reference="  ")
    assert str(info.value) == "X-MSS-NIL: the software's product reference is empty"


def test_a_document_that_breaks_the_cda_rules_is_not_sent() -> None:
    root = etree.fromstring(cda())
    title = root.find("{urn:hl7-org:v3}title")
    assert title is not None
    root.remove(title)
    broken = etree.tostring(root)
    with pytest.raises(ValidationError) as info:
        build(Draft(sender=SENDER, to=(DOCTOR,), documents=(cda(), broken)))
    assert str(info.value) == "document 2 breaks CDA rules: title is missing (h:title)"
    assert [i.rule for i in info.value.issues] == ["segurlink:title"]


def test_a_pdf_body_that_is_not_base64_is_refused() -> None:
    root = etree.fromstring(cda())
    text = root.find(".//{urn:hl7-org:v3}nonXMLBody/{urn:hl7-org:v3}text")
    assert text is not None
    from segurlink.mssante.messages import _level1_pdf

    text.text = "JVBERi0xLjQK" + "\n" + "JVBERi0xLjQK"  # base64 split over lines: joined
    assert _level1_pdf(etree.tostring(root)) == b"%PDF-1.4\n%PDF-1.4\n"
    text.text = "%PDF not base64"
    with pytest.raises(InputError) as info:
        _level1_pdf(etree.tostring(root))
    assert str(info.value) == "the CDA's PDF body is not valid base64"
    text.set("mediaType", "text/plain")
    assert _level1_pdf(etree.tostring(root)) is None


# -- names, subjects, ids ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("birth_date", "shown"),
    [("19751231", "31/12/1975"), ("19751231093000+0100", "31/12/1975"), ("197512", "12/1975"),
     ("1975", "1975"), (None, "")],
)  # fmt: skip
def test_the_subject_shows_the_birth_date_as_far_as_it_is_known(
    birth_date: str | None, shown: str
) -> None:
    subject = subject_for(" CR ", " adrun ", " Zoé ", birth_date)
    assert subject == ("XDM/1.0/DDM+CR ADRUN Zoé " + shown).rstrip()


def test_readable_pdf_names() -> None:
    from segurlink.cda import parse_header

    header = parse_header(cda())
    assert readable_pdf_name(header, 3) == (
        "20240228_Projet personnalisé d'accompagnement_ADRUN_ZOE_3.pdf"
    )
    patient = dataclasses.replace(
        header.patient, first_name=None, first_names=("ANNE", "MARIE"), birth_name="d/upont"
    )
    bare = dataclasses.replace(
        header, service_start=None, effective_time=None, type_code=None, title="CR: bilan?",
        patient=patient,
    )  # fmt: skip
    assert readable_pdf_name(bare) == "CR_ bilan__D_UPONT_ANNE.pdf"
    nameless = dataclasses.replace(
        bare, patient=dataclasses.replace(patient, birth_name=None, first_names=())
    )
    assert readable_pdf_name(nameless) == "CR_ bilan_.pdf"


@pytest.mark.parametrize(
    ("given", "normalised"),
    [("<a@b>", "<a@b>"), ("a@b", "<a@b>"), (" < a@b > ", "<a@b>"), ("<a@b", "<a@b>"),
     ("a@b>", "<a@b>"), ("  ", "")],
)  # fmt: skip
def test_message_ids_are_normalised(given: str, normalised: str) -> None:
    assert normalize_message_id(given) == normalised


def test_a_patient_address_from_a_record() -> None:
    assert patient_address(record(ZOE)) == PATIENT
    with pytest.raises(IdentityStatusError) as info:
        patient_address(PATIENT)
    assert str(info.value) == "a patient address needs the patient's IdentityRecord"


# -- reading a received message ----------------------------------------------------------------


def _received(**extra: str) -> bytes:
    from email.message import EmailMessage

    xdm = build(Draft(sender=SENDER, to=(DOCTOR,), documents=(cda(),))).xdm
    msg = EmailMessage(policy=policy.SMTP)
    msg["From"] = f"Dr Destinataire <{DOCTOR}>"
    msg["To"] = f"{SENDER}, Autre <autre@segurlink-test.mssante.fr>"
    msg["Cc"] = SECRETARY
    msg["Subject"] = "Re: PPA"
    msg["Date"] = "Sat, 02 Mar 2024 10:15:00 +0100"
    msg["Message-ID"] = "< reply-1@hopital-test.mssante.fr >"
    msg["In-Reply-To"] = MESSAGE_ID
    msg["References"] = "<root@x>  " + MESSAGE_ID
    msg["X-MSS-MES"] = "FIN"
    for name, value in extra.items():
        msg[name.replace("_", "-")] = value
    msg.set_content("Bien reçu.\n", subtype="plain", charset="utf-8")
    msg.add_alternative("<p>Bien reçu.</p>", subtype="html")
    msg.add_attachment(b"%PDF-1.4 rendu", maintype="application", subtype="pdf", filename="CR.pdf")
    msg.add_attachment(b"\x00\x01", maintype="application", subtype="octet-stream")
    msg.add_attachment(xdm, maintype="application", subtype="zip", filename="ihe_xdm.zip")
    return msg.as_bytes()


def test_every_field_of_a_received_message() -> None:
    received = parse_message(_received(), uid=42)
    assert received.uid == 42
    assert received.message_id == "<reply-1@hopital-test.mssante.fr>"
    assert received.sender == DOCTOR
    assert received.recipients == (SENDER, "autre@segurlink-test.mssante.fr", SECRETARY)
    assert received.subject == "Re: PPA"
    assert received.date == dt.datetime(2024, 3, 2, 9, 15, tzinfo=dt.UTC)
    assert received.text == "Bien reçu.\r\n"
    assert received.in_reply_to == MESSAGE_ID
    assert received.references == ("<root@x>", MESSAGE_ID)
    assert received.headers == {"X-MSS-MES": "FIN"}
    assert [(a.filename, a.content, a.media_type) for a in received.attachments] == [
        ("CR.pdf", b"%PDF-1.4 rendu", "application/pdf"),
        ("attachment", b"\x00\x01", "application/octet-stream"),
    ]
    assert received.xdm is not None and len(received.documents) == 1
    assert (received.receipt, received.xdm_error) == (None, "")
    assert parse_message(_received()).uid == 0


def test_a_received_message_without_headers_reads_as_empty() -> None:
    received = parse_message(b"\r\nrien\r\n")
    assert (received.message_id, received.sender, received.recipients) == ("", "", ())
    assert (received.subject, received.date, received.in_reply_to, received.references) == (
        "",
        None,
        "",
        (),
    )
    assert received.text == "rien\r\n"
    assert parse_message(b"Date: not a date\r\n\r\nx").date is None


def test_the_xdm_limits_apply_to_a_received_message() -> None:
    from segurlink.errors import XdmError
    from segurlink.mssante import XdmLimits

    with pytest.raises(XdmError):
        parse_message(_received(), xdm_limits=XdmLimits(max_entries=2))


def test_a_receipt_in_a_received_message_is_read_and_correlated() -> None:
    received = parse_message(MDN, known=lambda mid: mid == "<sent@me>")
    assert received.receipt is not None
    assert (received.receipt.original_message_id, received.receipt.known) == ("<sent@me>", True)


# -- receipts ------------------------------------------------------------------------------------

MDN = (
    b"From: x@hopital-test.mssante.fr\r\nTo: me@segurlink-test.mssante.fr\r\n"
    b"Message-ID: <m1@x>\r\nDate: Sat, 02 Mar 2024 10:00:00 +0000\r\nMIME-Version: 1.0\r\n"
    b'Content-Type: multipart/report; report-type="Disposition-Notification"; boundary="b"\r\n'
    b"\r\n--b\r\nContent-Type: text/plain\r\n\r\nok\r\n"
    b"--b\r\nContent-Type: message/disposition-notification\r\n\r\n"
    b"Original-Recipient: rfc822; other@hopital-test.mssante.fr\r\n"
    b"Original-Message-ID: sent@me\r\n"
    b"Disposition: automatic-action/MDN-sent-automatically; processed/error: nothing ^ here\r\n"
    b"\r\n--b--\r\n"
)


def test_an_mdn_whole() -> None:
    (receipt,) = parse_receipts(MDN)
    assert receipt.kind is ReceiptKind.MDN
    assert receipt.original_message_id == "<sent@me>"
    assert receipt.recipient == "other@hopital-test.mssante.fr"  # no Final-Recipient: original
    assert receipt.disposition == (
        "automatic-action/MDN-sent-automatically; processed/error: nothing ^ here"
    )
    # an error that is not code^label is an "other error" (906) with the text
    assert receipt.error == ApplicationError(906, "nothing ^ here")
    assert (receipt.message_id, receipt.date) == (
        "<m1@x>",
        dt.datetime(2024, 3, 2, 10, 0, tzinfo=dt.UTC),
    )
    assert receipt.known  # nothing to correlate with: taken as ours


def test_an_mdn_whose_fields_are_headers_of_the_report_part() -> None:
    data = (
        b"From: x@h\r\nMIME-Version: 1.0\r\n"
        b'Content-Type: multipart/report; report-type=disposition-notification; boundary="b"\r\n'
        b"\r\n--b\r\nContent-Type: message/disposition-notification\r\n"
        b"Final-Recipient: rfc822; <x@hopital-test.mssante.fr>\r\n"
        b"Disposition: manual-action/MDN-sent-manually; displayed\r\n\r\n"
        b"Disposition: automatic-action/MDN-sent-automatically; deleted\r\n"
        b"\r\n--b\r\nContent-Type: text/rfc822-headers\r\n\r\nmessage-id: <sent@me>\r\n"
        b"\r\n--b--\r\n"
    )
    (receipt,) = parse_receipts(data)
    # the part's own header comes first; the recipient's brackets are removed
    assert receipt.disposition == "manual-action/MDN-sent-manually; displayed"
    assert receipt.recipient == "x@hopital-test.mssante.fr"
    assert receipt.original_message_id == "<sent@me>"
    assert receipt.ok


def test_a_broken_mdn_is_read_from_its_lines() -> None:
    # Like ANS's published example: the report part holds no fields, the text does.
    data = (
        b"From: x@h\r\nMIME-Version: 1.0\r\n"
        b'Content-Type: multipart/report; report-type=disposition-notification; boundary="b"\r\n'
        b"\r\n--b\r\nContent-Type: text/plain\r\n\r\n"
        b"Final-Recipient: rfc822; x@hopital-test.mssante.fr\r\n"
        b"Disposition: automatic-action/MDN-sent-automatically; processed/error: 903^INS absent\r\n"
        b"--b\r\nContent-Type: message/disposition-notification\r\n\r\n\r\n--b--\r\n"
    )
    (receipt,) = parse_receipts(data, known=lambda mid: True)
    assert receipt.error == ApplicationError(903, "INS absent")
    assert receipt.recipient == "x@hopital-test.mssante.fr"
    # no original id at all: not ours, whatever the store says
    assert (receipt.original_message_id, receipt.known) == ("", False)


def test_an_mdn_without_disposition_is_malformed() -> None:
    data = (
        b'Content-Type: multipart/report; report-type=disposition-notification; boundary="b"\r\n'
        b"\r\n--b\r\nContent-Type: message/disposition-notification\r\n\r\n"
        b"Final-Recipient: rfc822; x@h\r\n\r\n--b--\r\n"
    )
    with pytest.raises(MalformedResponse) as info:
        parse_receipts(data)
    assert str(info.value) == "a disposition notification without a Disposition field"


DSN = (
    b"From: MAILER-DAEMON@x\r\nMessage-ID: <d1@x>\r\nDate: Sat, 02 Mar 2024 11:00:00 +0000\r\n"
    b"In-Reply-To: <sent@me>\r\nMIME-Version: 1.0\r\n"
    b'Content-Type: multipart/report; report-type=delivery-status; boundary="b"\r\n\r\n'
    b"--b\r\nContent-Type: text/plain\r\n\r\nfailed\r\n"
    b"--b\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; x\r\n\r\n"
    b"Original-Recipient: rfc822; a@x\r\nAction: FAILED\r\nStatus: 5.1.1\r\n"
    b"Diagnostic-Code: smtp; 550 5.1.1 unknown\r\n\r\n"
    b"Final-Recipient: rfc822; b@x\r\nAction: delayed\r\n\r\n--b--\r\n"
)


def test_a_dsn_whole() -> None:
    failed, delayed = parse_receipts(DSN)
    assert (failed.kind, failed.original_message_id, failed.recipient) == (
        ReceiptKind.DSN,
        "<sent@me>",
        "a@x",
    )
    assert (failed.action, failed.status, failed.diagnostic) == (
        "failed",
        "5.1.1",
        "smtp; 550 5.1.1 unknown",
    )
    assert (failed.message_id, failed.date) == (
        "<d1@x>",
        dt.datetime(2024, 3, 2, 11, 0, tzinfo=dt.UTC),
    )
    assert (delayed.recipient, delayed.action, delayed.status, delayed.diagnostic) == (
        "b@x",
        "delayed",
        "",
        "",
    )


def test_a_dsn_without_recipient_fields_is_malformed() -> None:
    data = (
        b'Content-Type: multipart/report; report-type=delivery-status; boundary="b"\r\n\r\n'
        b"--b\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; x\r\n\r\n--b--\r\n"
    )
    with pytest.raises(MalformedResponse) as info:
        parse_receipts(data)
    assert str(info.value) == "a delivery status notification without recipient fields"


def test_a_report_is_recognised_by_its_part_too() -> None:
    # multipart/mixed holding a delivery-status part (some servers): still a DSN
    mixed = DSN.replace(b"multipart/report; report-type=delivery-status;", b"multipart/mixed;")
    assert [r.kind for r in parse_receipts(mixed)] == [ReceiptKind.DSN, ReceiptKind.DSN]
    mdn = MDN.replace(
        b'multipart/report; report-type="Disposition-Notification";', b"multipart/mixed;"
    )
    assert [r.kind for r in parse_receipts(mdn)] == [ReceiptKind.MDN]


def test_the_original_of_a_receipt_from_its_threading_headers() -> None:
    data = DSN.replace(b"In-Reply-To: <sent@me>\r\n", b"References: <root@x> <sent@me>\r\n")
    assert parse_receipts(data)[0].original_message_id == "<root@x>"
    quoted = DSN.replace(b"In-Reply-To: <sent@me>\r\n", b"").replace(
        b"--b--\r\n",
        b"--b\r\nContent-Type: message/rfc822\r\n\r\nMessage-ID: < orig@me >\r\n"
        b"Subject: x\r\n\r\nbody\r\n--b--\r\n",
    )
    assert parse_receipts(quoted)[0].original_message_id == "<orig@me>"


KO = (
    "From: Service <service@hopital-test.mssante.fr>\r\nTo: me@x\r\nMessage-ID: <ko@x>\r\n"
    "Subject: [KO] [904] Votre message\r\nIn-Reply-To: <sent@me>\r\nMIME-Version: 1.0\r\n"
    'Content-Type: multipart/mixed; boundary="b"\r\n\r\n'
    "--b\r\nContent-Type: text/html\r\n\r\n<p>Erreur détectée : pas ici</p>\r\n"
    '--b\r\nContent-Type: text/plain; charset="utf-8"\r\nContent-Transfer-Encoding: 8bit\r\n\r\n'
    "Bonjour,\r\nErreur détectée : INS ne correspondant pas\r\n--b--\r\n"
).encode()


def test_an_error_mail_whole() -> None:
    (receipt,) = parse_receipts(KO)
    assert receipt.kind is ReceiptKind.ERROR_MAIL
    assert receipt.error == ApplicationError(904, "INS ne correspondant pas")
    assert (receipt.original_message_id, receipt.recipient, receipt.message_id) == (
        "<sent@me>",
        "service@hopital-test.mssante.fr",  # the address, without the display name
        "<ko@x>",
    )
    assert receipt.date is None
    # without a label in the text, the catalogue's label
    bare = KO.replace("Erreur détectée : INS ne correspondant pas".encode(), b"")
    assert parse_receipts(bare)[0].error == ApplicationError(904, "INS ne correspondant pas")
    assert parse_receipts(KO.replace(b"[KO]", b"[Erreur MSS]"))[0].kind is ReceiptKind.ERROR_MAIL


def test_the_recipient_of_an_error_mail_whose_sender_name_holds_a_semicolon() -> None:
    # "rfc822;" prefixes a report's recipient field; in a From, ';' is part of the name
    data = KO.replace(b"From: Service <", b'From: "Service; urgences" <')
    assert parse_receipts(data)[0].recipient == "service@hopital-test.mssante.fr"


def test_an_error_code_in_other_digits_is_no_error_mail() -> None:
    # [0-9], never \d: int() would read the Arabic-Indic "٩٠٤" as 904
    assert parse_receipts(KO.replace(b"[904]", "[٩٠٤]".encode())) == ()


def test_a_text_in_an_unknown_charset_is_read_as_utf8() -> None:
    data = KO.replace(b'charset="utf-8"', b'charset="x-unknown"')
    assert parse_receipts(data)[0].error == ApplicationError(904, "INS ne correspondant pas")
    latin = KO.replace(b'charset="utf-8"', b'charset="iso-8859-1"').replace(
        "détectée".encode(), "détectée".encode("latin-1")
    )
    assert parse_receipts(latin)[0].error == ApplicationError(904, "INS ne correspondant pas")


def test_a_given_message_id_and_reply_to_as_written() -> None:
    draft = Draft(
        sender=SENDER,
        to=(DOCTOR,),
        subject="  Réponse  ",
        message_id=" <mine@dui.fr> ",
        reply_to=" secretariat@ehpad.fr ",
    )
    message = build(draft)
    head = _head(message.data)
    assert head[2:6] == [
        "Subject: =?utf-8?q?R=C3=A9ponse?=",  # trimmed
        "Date: Sat, 02 Mar 2024 09:00:00 +0000",
        "Message-ID: <mine@dui.fr>",
        "Reply-To: secretariat@ehpad.fr",
    ]
    assert message.message_id == "<mine@dui.fr>"


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"subject": "  "}, "a message without CI-SIS documents needs a subject"),
        ({"message_id": "no-at"}, "message_id is not a Message-ID <local@domain>: '<no-at>'"),
        ({"reply_to": "nobody"}, "Reply-To is not an e-mail address: 'nobody'"),
    ],
)
def test_a_message_without_documents_needs_a_subject_and_valid_ids(
    changes: dict[str, str], message: str
) -> None:
    values: dict[str, Any] = {"sender": SENDER, "to": (DOCTOR,), "subject": "x"}
    values.update(changes)
    with pytest.raises(InputError) as info:
        build(Draft(**values))
    assert str(info.value) == message


# -- more of what a user reads (after the mutation run) ------------------------------------------


def test_a_document_breaking_many_rules_shows_the_first_five() -> None:
    root = etree.fromstring(cda())
    for tag in ("title", "languageCode", "realmCode", "typeId", "setId", "versionNumber"):
        element = root.find(f"{{urn:hl7-org:v3}}{tag}")
        assert element is not None
        root.remove(element)
    with pytest.raises(ValidationError) as info:
        build(Draft(sender=SENDER, to=(DOCTOR,), documents=(etree.tostring(root),)))
    assert str(info.value) == (
        "document 1 breaks CDA rules: realmCode is missing (h:realmCode); typeId is missing "
        "(h:typeId); title is missing (h:title); languageCode is missing (h:languageCode); "
        "setId is missing (h:setId)"
    )
    assert len(info.value.issues) == 6  # every error is kept, the message shows five


def test_a_patient_address_from_a_message_without_document() -> None:
    with pytest.raises(IdentityStatusError) as info:
        build(Draft(sender=SENDER, subject="x", patient_from_document=True))
    assert str(info.value).startswith("the document carries no qualified INS")


def test_several_copies_are_listed_in_cc() -> None:
    other = "cadre@hopital-test.mssante.fr"
    message = build(Draft(sender=SENDER, to=(DOCTOR,), cc=(SECRETARY, other), subject="x"))
    assert f"Cc: {SECRETARY}, {other}" in _head(message.data)


def test_the_readable_pdf_is_named_after_the_document_type() -> None:
    from segurlink.cda import parse_header

    header = dataclasses.replace(parse_header(cda()), title="Titre libre")
    assert readable_pdf_name(header) == (
        "20240228_Projet personnalisé d'accompagnement_ADRUN_ZOE.pdf"
    )


def test_an_mdn_told_only_by_its_report_type() -> None:
    # No message/disposition-notification part at all: the report-type says what it is.
    data = (
        b"From: x@h\r\nMIME-Version: 1.0\r\n"
        b'Content-Type: multipart/report; report-type="Disposition-Notification"; boundary="b"\r\n'
        b"\r\n--b\r\nContent-Type: text/plain\r\n\r\n"
        b"Original-Message-ID: <sent@me>\r\n"
        b"Disposition: automatic-action/MDN-sent-automatically; processed\r\n--b--\r\n"
    )
    (receipt,) = parse_receipts(data)
    assert (receipt.kind, receipt.original_message_id, receipt.ok) == (
        ReceiptKind.MDN,
        "<sent@me>",
        True,
    )
    dsn = data.replace(b'"Disposition-Notification"', b"delivery-status").replace(
        b"Disposition: automatic-action/MDN-sent-automatically; processed\r\n",
        b"\r\nFinal-Recipient: rfc822; a@x\r\nAction: failed\r\n",
    )
    with pytest.raises(MalformedResponse):  # a DSN without its report part has no fields
        parse_receipts(dsn)


def test_an_error_mail_label_and_date_come_from_the_mail() -> None:
    data = KO.replace(b"[904]", b"[906]").replace(
        b"INS ne correspondant pas", b"document illisible"
    )
    data = data.replace(
        b"Message-ID: <ko@x>\r\n",
        b"Message-ID: <ko@x>\r\nDate: Sat, 02 Mar 2024 12:00:00 +0000\r\n",
    )
    (receipt,) = parse_receipts(data)
    assert receipt.error == ApplicationError(906, "document illisible")
    assert receipt.date == dt.datetime(2024, 3, 2, 12, 0, tzinfo=dt.UTC)


def test_a_received_receipt_is_correlated_and_listed() -> None:
    received = parse_message(MDN, known=lambda mid: False)
    assert received.receipt is not None and received.receipt.known is False
    assert received.receipts == (received.receipt,)


# -- composition: what the documents leave empty -------------------------------------------------

INS_ID = b'<id root="1.2.250.1.213.1.4.8" extension="275126322074974"/>'


def _subject(message: Any) -> str:
    return str(BytesParser(policy=policy.default).parsebytes(message.data)["Subject"])


def test_a_given_readable_pdf_is_named_after_the_first_document() -> None:
    documents = (cda(), cda(seed=2, type_key="DLU"))
    message = build(
        Draft(sender=SENDER, to=(DOCTOR,), documents=documents, readable_pdf=b"%PDF-1.4 rendu")
    )
    pdfs = [name for kind, _, name in _parts(message.data) if kind == "application/pdf"]
    assert pdfs == ["20240228_Projet personnalisé d'accompagnement_ADRUN_ZOE.pdf"]


def test_the_subject_takes_the_first_birth_first_name_when_the_br_one_is_empty() -> None:
    document = cda().replace(b'<given qualifier="BR">ZOE</given>', b'<given qualifier="BR"/>')
    document = document.replace(b"<given>ZOE</given>", b"<given>ANNE MARIE</given>")
    message = build(Draft(sender=SENDER, to=(DOCTOR,), documents=(document,)))
    assert _subject(message) == (
        "XDM/1.0/DDM+Projet personnalisé d'accompagnement ADRUN ANNE 31/12/1975"
    )


@pytest.mark.parametrize(
    ("empty", "subject"),
    [
        (
            (b'<family qualifier="BR">ADRUN</family>', b'<family qualifier="BR"/>'),
            "XDM/1.0/DDM+Projet personnalisé d'accompagnement ZOE 31/12/1975",
        ),
        (
            (b'<given>ZOE</given><given qualifier="BR">ZOE</given>', b'<given/><given qualifier="BR"/>'),
            "XDM/1.0/DDM+Projet personnalisé d'accompagnement ADRUN 31/12/1975",
        ),
    ],
    ids=["birth name", "first names"],
)  # fmt: skip
def test_the_subject_leaves_out_a_trait_the_document_leaves_empty(
    empty: tuple[bytes, bytes], subject: str
) -> None:
    document = cda().replace(*empty)
    assert _subject(build(Draft(sender=SENDER, to=(DOCTOR,), documents=(document,)))) == subject


GENDER = (
    '<administrativeGenderCode code="F" displayName="Féminin" codeSystem="2.16.840.1.113883.5.1"/>'
)


@pytest.mark.parametrize(
    ("change", "qualified"),
    [
        ((b"", b""), "O"),
        ((b'<given qualifier="BR">ZOE</given>', b'<given qualifier="BR"/>'), "O"),  # the list
        ((b'<family qualifier="BR">ADRUN</family>', b'<family qualifier="BR"/>'), "N"),
        ((b'<given>ZOE</given><given qualifier="BR">ZOE</given>', b'<given/><given qualifier="BR"/>'), "N"),
        ((GENDER.encode(), b'<administrativeGenderCode nullFlavor="UNK"/>'), "N"),
        ((b'<birthTime value="19751231"/>', b'<birthTime nullFlavor="UNK"/>'), "N"),
    ],
    ids=["every trait", "first names only", "no birth name", "no first name", "no sex", "no birth date"],
)  # fmt: skip
def test_x_mss_ins_says_whether_the_ins_comes_with_every_trait(
    change: tuple[bytes, bytes], qualified: str
) -> None:
    before, after = change
    assert before in cda()  # the element the case empties is there
    document = cda().replace(before, after)
    message = build(Draft(sender=SENDER, to=(DOCTOR,), documents=(document,)))
    assert f"X-MSS-INS: {qualified}" in _head(message.data)


def test_documents_with_one_ins_are_one_patient_whatever_id_they_list_first() -> None:
    ipp = b'<id root="1.2.250.1.999.1.1.2" extension="IPP0002"/>'
    second = cda(seed=2).replace(INS_ID + ipp, ipp + INS_ID)
    assert second != cda(seed=2)
    message = build(Draft(sender=SENDER, to=(DOCTOR,), documents=(cda(), second)))
    assert message.document_ids == ("2.25.1000", "2.25.2000")


def test_a_blank_part_of_a_readable_pdf_name_is_left_out() -> None:
    from segurlink.cda import parse_header

    header = parse_header(cda())
    blank = dataclasses.replace(
        header, patient=dataclasses.replace(header.patient, first_name="  ", first_names=())
    )
    assert readable_pdf_name(blank) == "20240228_Projet personnalisé d'accompagnement_ADRUN.pdf"


# -- reading: texts ------------------------------------------------------------------------------


def _mail(*parts: bytes) -> bytes:
    head = b'From: x@h\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary="b"\r\n\r\n'
    return head + b"".join(b"--b\r\n" + part + b"\r\n" for part in parts) + b"--b--\r\n"


def test_a_received_message_without_a_text_part_has_an_empty_text() -> None:
    data = _mail(
        b'Content-Type: application/pdf\r\nContent-Disposition: attachment; filename="a.pdf"\r\n\r\n%PDF'
    )
    received = parse_message(data)
    assert (received.text, [a.filename for a in received.attachments]) == ("", ["a.pdf"])


def test_the_text_of_a_received_message_is_its_first_plain_part() -> None:
    data = _mail(
        b"Content-Type: text/html\r\n\r\n<p>en HTML</p>",
        b"Content-Type: text/plain\r\n\r\nen texte",
        b"Content-Type: text/plain\r\n\r\nun autre texte",
    )
    assert parse_message(data).text == "en texte"


@pytest.mark.parametrize(
    ("charset", "body", "text"),
    [
        ("windows-1252", "Réponse reçue".encode("cp1252") + b"\x81", "Réponse reçue\ufffd"),
        ("x-unknown", "Réponse reçue".encode() + b"\xff", "Réponse reçue\ufffd"),
    ],
    ids=["declared", "unknown, read as UTF-8"],
)
def test_a_text_with_bytes_its_charset_lacks_is_read_with_replacement_characters(
    charset: str, body: bytes, text: str
) -> None:
    part = f"Content-Type: text/plain; charset={charset}\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"
    assert parse_message(_mail(part.encode() + body)).text == text


# -- reading: receipts ---------------------------------------------------------------------------


def _dsn_with(recipient_block: bytes) -> bytes:
    return DSN.replace(b"Final-Recipient: rfc822; b@x\r\nAction: delayed\r\n", recipient_block)


def test_a_dsn_recipient_block_without_action_is_a_receipt() -> None:
    _, second = parse_receipts(_dsn_with(b"Final-Recipient: rfc822; b@x\r\nStatus: 4.4.1\r\n"))
    assert (second.recipient, second.action, second.status) == ("b@x", "", "4.4.1")


def test_a_dsn_recipient_block_without_recipient_names_none() -> None:
    _, second = parse_receipts(_dsn_with(b"Action: failed\r\nStatus: 5.0.0\r\n"))
    assert (second.recipient, second.action, second.status) == ("", "failed", "5.0.0")


def test_a_broken_recipient_address_is_shown_without_its_brackets() -> None:
    _, second = parse_receipts(
        _dsn_with(b"Final-Recipient: rfc822; <Xavier.Dupont@>\r\nAction: failed\r\n")
    )
    assert second.recipient == "Xavier.Dupont@"


def test_a_recipient_field_is_read_after_its_address_type_only() -> None:
    field = b'Final-Recipient: rfc822; "Dupont; Jean" <b@x>\r\nAction: failed\r\n'
    assert parse_receipts(_dsn_with(field))[1].recipient == "b@x"


def test_a_folded_disposition_is_read_whole() -> None:
    folded = MDN.replace(b"processed/error: nothing", b"processed/error:\r\n nothing")
    assert parse_receipts(folded)[0].disposition == (
        "automatic-action/MDN-sent-automatically; processed/error: nothing ^ here"
    )


def test_the_fields_of_a_report_part_with_a_disposition_are_read_alone() -> None:
    # a field line elsewhere in the mail (here the human-readable text) is not the report's
    quoting = MDN.replace(b"\r\n\r\nok\r\n", b"\r\n\r\nFinal-Recipient: rfc822; quoted@x\r\n")
    assert parse_receipts(quoting)[0].recipient == "other@hopital-test.mssante.fr"


def test_an_mdn_without_recipient_fields_names_none() -> None:
    data = MDN.replace(b"Original-Recipient: rfc822; other@hopital-test.mssante.fr\r\n", b"")
    assert parse_receipts(data)[0].recipient == ""


def test_an_empty_returned_headers_part_leaves_the_original_to_the_threading_headers() -> None:
    data = DSN.replace(
        b"--b--\r\n", b"--b\r\nContent-Type: text/rfc822-headers\r\n\r\n\r\n--b--\r\n"
    )
    assert parse_receipts(data)[0].original_message_id == "<sent@me>"


def test_a_report_type_outside_a_report_is_no_receipt() -> None:
    data = _mail(
        b"Content-Type: text/plain\r\n\r\nDisposition: manual-action/MDN-sent-manually; displayed"
    )
    data = data.replace(
        b"multipart/mixed;", b"multipart/mixed; report-type=disposition-notification;"
    )
    assert parse_receipts(data) == ()
