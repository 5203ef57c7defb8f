"""The gateway end to end against the mocks: a producer (raw-socket MLLP) sends MDM/ORU
messages; the DMP mock holds the documents, the MSSanté mock delivers the mails and
writes the receipts; the producer gets the ACK, then the ZAMs (read with python-hl7)."""

from __future__ import annotations

import base64
import email
import io
import logging
import time
import zipfile
from email import policy
from typing import Any, Literal

import pytest
from segurlink_mocks.mssante import (
    APP_MAILBOX,
    INTEGRATION_MAILBOX,
    PER_MAILBOX,
    REMOTE_PER_MAILBOX,
    MssMock,
)

from segurlink.cda import build_document, parse_header
from segurlink.dmp import APPROVED, DELETED, DEPRECATED
from segurlink.errors import OutboxError
from segurlink.gateway import Gateway
from segurlink.mssante import Draft, MssClient
from segurlink.outbox.store import SqlStore
from tests.dmp import factory as f
from tests.gateway.conftest import (
    DMP_ONLY,
    ROW_PATIENT_ONLY,
    ROW_PS_ONLY,
    SENDER_ID,
    ZOE_ADDRESS,
    ZOE_INS,
    Producer,
    field_text,
    hl7_fields,
    mdm,
    oru,
    patient_prt,
    read_ack,
    recipient_prt,
    reply_prt,
    send,
    sender_prt,
    wait_for,
)

ALL = [
    sender_prt(),
    recipient_prt(PER_MAILBOX, "101234567897"),
    recipient_prt(REMOTE_PER_MAILBOX),
    patient_prt(),
]
PS = [sender_prt(), recipient_prt(PER_MAILBOX, "101234567897"), recipient_prt(REMOTE_PER_MAILBOX)]


def stored(dmp_mock: Any, ins: str = ZOE_INS) -> list[dict[str, Any]]:
    """The CDA entries of the DMP mock (not the Signature01 entries)."""
    return [
        d for d in dmp_mock.documents(ins) if not d["uniqueId"].startswith("1.2.250.1.999.1.1.4.")
    ]


def uid(document: bytes) -> str:
    return parse_header(document).id.xds_unique_id


def settle(producer: Producer, count: int, event: str | None = None) -> list[Any]:
    """Wait for ``count`` ZAMs, then check that no more come (nothing sent twice)."""
    wait_for(lambda: len(producer.zams(event)) >= count, what=f"{count} ZAM {event or ''}")
    time.sleep(0.8)
    zams = producer.zams(event)
    assert len(zams) == count, [field_text(z, "MSH", 9) for z in zams]
    return zams


def zam_view(zam: Any) -> tuple[str, str, str, str, str]:
    """(event, original MSH-10, Y/N, address, ERR-5)."""
    return (
        field_text(zam, "MSH", 9).split("^")[1],
        field_text(zam, "OBX", 4),
        field_text(zam, "OBX", 5).split("^")[0],
        field_text(zam, "OBX", 5, nth=1).split("^")[-1]
        if len([s for s in zam if str(s[0]) == "OBX"]) > 1
        else "",
        field_text(zam, "ERR", 5),
    )


def mails(mss_mock: MssMock, address: str) -> list[email.message.EmailMessage]:
    return [
        email.message_from_bytes(raw, policy=policy.default) for raw in mss_mock.mailbox(address)
    ]  # type: ignore[misc]


def xdm_action(message: email.message.Message) -> str:
    for part in message.walk():
        if part.get_filename() == "IHE_XDM.ZIP":
            content = part.get_payload(decode=True)
            assert isinstance(content, bytes)
            archive = zipfile.ZipFile(io.BytesIO(content))
            metadata = archive.read("IHE_XDM/SUBSET01/METADATA.XML").decode()
            if '<rim:Slot name="action">' in metadata:
                return metadata.split('<rim:Slot name="action">')[1].split("<rim:Value>")[1][0]
            return ""
    raise AssertionError("no XDM")


def body_text(message: email.message.EmailMessage) -> str:
    part = message.get_body(("plain",))
    assert part is not None
    return str(part.get_content())


# -- the matrix rows -----------------------------------------------------------------------------


def test_row_1_dmp_professionals_and_patient_with_every_zam(
    gateway: Gateway, producer: Producer, dmp_mock: Any, mss_mock: MssMock
) -> None:
    document = f.cda(seed=601)
    text = mdm(
        document,
        control_id="MSG601",
        participants=[*ALL, reply_prt(PER_MAILBOX)],
        bodies={
            "CORPSMAIL_PS": "Cher confrère, ci-joint le projet.",
            "CORPSMAIL_PATIENT": "Bonjour",
        },
        fin=True,
    )
    ack = hl7_fields(send(gateway.port, text))
    assert field_text(ack, "MSH", 9) == "ACK^T02^ACK" and field_text(ack, "MSH", 12) == "2.6"
    assert (field_text(ack, "MSA", 1), field_text(ack, "MSA", 2)) == ("AA", "MSG601")
    assert (field_text(ack, "MSH", 5), field_text(ack, "MSH", 6)) == ("DUI", "EHPAD")

    zams = settle(producer, 7)
    assert sorted(zam_view(z) for z in zams) == sorted(
        [
            ("Z01", "MSG601", "Y", "", ""),
            ("Z02", "MSG601", "Y", PER_MAILBOX, ""),
            ("Z02", "MSG601", "Y", REMOTE_PER_MAILBOX, ""),
            ("Z02", "MSG601", "Y", ZOE_ADDRESS, ""),
            ("Z03", "MSG601", "Y", PER_MAILBOX, ""),
            ("Z03", "MSG601", "Y", REMOTE_PER_MAILBOX, ""),
            ("Z03", "MSG601", "Y", ZOE_ADDRESS, ""),
        ]
    )
    for zam in zams:
        assert field_text(zam, "MSH", 12) == "2.6"
        assert field_text(zam, "MSH", 21) == "2.1^CISIS_CDA_HL7_V2"
        assert (field_text(zam, "MSH", 5), field_text(zam, "MSH", 6)) == ("DUI", "EHPAD")
        assert (field_text(zam, "MSH", 3), field_text(zam, "MSH", 4)) == ("PFI", "EHPAD")
    doctor = [z for z in zams if zam_view(z)[3] == PER_MAILBOX]
    assert {field_text(z, "OBX", 4, nth=1) for z in doctor} == {"101234567897"}

    (entry,) = stored(dmp_mock)
    assert (entry["uniqueId"], entry["status"], entry["confidentiality"]) == (
        uid(document),
        APPROVED,
        ["N"],
    )
    (to_doctor,) = mails(mss_mock, PER_MAILBOX)
    assert to_doctor["To"] == f"{PER_MAILBOX}, {REMOTE_PER_MAILBOX}"
    assert to_doctor["Reply-To"] == PER_MAILBOX and to_doctor["X-MSS-MES"] is None
    assert body_text(to_doctor).strip() == "Cher confrère, ci-joint le projet."
    assert to_doctor["Disposition-Notification-To"] == APP_MAILBOX
    assert len(mails(mss_mock, REMOTE_PER_MAILBOX)) == 1
    (to_patient,) = mails(mss_mock, ZOE_ADDRESS)
    assert to_patient["To"] == ZOE_ADDRESS and to_patient["X-MSS-MES"] == "FIN"
    assert body_text(to_patient).strip() == "Bonjour"
    assert xdm_action(to_patient) == ""


def test_row_2_professionals_only_and_hidden_from_the_patient(
    gateway: Gateway, producer: Producer, dmp_mock: Any, mss_mock: MssMock
) -> None:
    document = f.cda(seed=602)
    ack = read_ack(
        send(gateway.port, mdm(document, control_id="MSG602", flags=ROW_PS_ONLY, participants=PS))
    )
    assert ack.code == "AA"
    zams = settle(producer, 5)
    assert sorted(v[0] for v in map(zam_view, zams)) == ["Z01", "Z02", "Z02", "Z03", "Z03"]
    (entry,) = stored(dmp_mock)
    assert entry["confidentiality"] == ["N", "INVISIBLE_PATIENT"]
    assert len(mails(mss_mock, PER_MAILBOX)) == 1
    assert mss_mock.mailbox(ZOE_ADDRESS) == []  # never mailed to the patient


def test_row_3_patient_only_no_dmp(
    gateway: Gateway, producer: Producer, dmp_mock: Any, mss_mock: MssMock
) -> None:
    document = f.cda(seed=603)
    text = mdm(
        document,
        control_id="MSG603",
        flags=ROW_PATIENT_ONLY,
        participants=[patient_prt()],
        bodies={"CORPSMAIL_PATIENT": "Bonjour Zoé"},
        fin=True,
    )
    assert read_ack(send(gateway.port, text)).code == "AA"
    zams = settle(producer, 2)
    assert sorted(zam_view(z)[:4] for z in zams) == [
        ("Z02", "MSG603", "Y", ZOE_ADDRESS),
        ("Z03", "MSG603", "Y", ZOE_ADDRESS),
    ]
    assert stored(dmp_mock) == []
    (to_patient,) = mails(mss_mock, ZOE_ADDRESS)
    assert to_patient["X-MSS-MES"] == "FIN" and "Bonjour Zoé" in body_text(to_patient)
    assert mss_mock.mailbox(PER_MAILBOX) == []


def test_dmp_only_without_receipts(
    gateway: Gateway, producer: Producer, dmp_mock: Any, mss_mock: MssMock
) -> None:
    flags = DMP_ONLY | {"MASQUE_PS": "Y", "INVISIBLE_REP_LEGAUX": "Y"}
    document = f.cda(seed=604)
    text = mdm(
        document,
        control_id="MSG604",
        flags=flags,
        participants=[sender_prt()],
        acks={"ACK_RECEPTION": "N", "ACK_LECTURE_MSS": "N"},
    )
    assert read_ack(send(gateway.port, text)).code == "AA"
    wait_for(lambda: stored(dmp_mock), what="the deposit")
    time.sleep(0.8)
    (entry,) = stored(dmp_mock)
    assert entry["confidentiality"] == ["N", "MASQUE_PS", "INVISIBLE_REPRESENTANTS_LEGAUX"]
    assert producer.zams() == []  # ACK_RECEPTION N: no Z01
    # the VIHF of the deposit names the PRT sender (PRT-5.1), as the guide's mapping says
    subjects = [r.details.get("subject") for r in dmp_mock.requests if r.details.get("mode")]
    assert subjects and set(subjects) == {SENDER_ID}


def test_the_oru_r01(
    gateway: Gateway, producer: Producer, dmp_mock: Any, mss_mock: MssMock
) -> None:
    document = f.cda(seed=605)
    ack = hl7_fields(
        send(
            gateway.port,
            oru(document, control_id="ORU605", flags=DMP_ONLY, participants=[sender_prt()]),
        )
    )
    assert field_text(ack, "MSH", 9) == "ACK^R01^ACK" and field_text(ack, "MSH", 12) == "2.5"
    assert field_text(ack, "MSA", 1) == "AA"
    assert [zam_view(z)[:3] for z in settle(producer, 1)] == [("Z01", "ORU605", "Y")]
    assert [e["uniqueId"] for e in stored(dmp_mock)] == [uid(document)]


# -- the document's life: T02, T10, T04 ------------------------------------------------------------


def test_t10_replaces_and_t04_deletes(
    gateway: Gateway, producer: Producer, dmp_mock: Any, mss_mock: MssMock
) -> None:
    first = f.make_document(seed=606)
    initial = build_document(first)
    replacing = build_document(f.replacement(first, seed=607))
    flags = DMP_ONLY | {"DESTMSSANTEPS": "Y", "INVISIBLE_PATIENT": "Y"}
    participants = [sender_prt(), recipient_prt(PER_MAILBOX)]

    # sent back to back: the T10 waits for the T02's deposit (one chain per document)
    assert (
        read_ack(
            send(
                gateway.port, mdm(initial, control_id="V1", flags=flags, participants=participants)
            )
        ).code
        == "AA"
    )
    assert (
        read_ack(
            send(
                gateway.port,
                mdm(
                    replacing, event="T10", control_id="V2", flags=flags, participants=participants
                ),
            )
        ).code
        == "AA"
    )
    settle(producer, 6)
    entries = {e["uniqueId"]: e for e in stored(dmp_mock)}
    assert entries[uid(initial)]["status"] == DEPRECATED
    assert entries[uid(replacing)]["status"] == APPROVED
    assert entries[uid(replacing)]["replaces"] == entries[uid(initial)]["entryUUID"]
    first_mail, second_mail = mails(mss_mock, PER_MAILBOX)
    assert (xdm_action(first_mail), xdm_action(second_mail)) == ("", "C")
    assert "annule et remplace" in body_text(second_mail)

    text = mdm(replacing, event="T04", control_id="V3", flags=flags, participants=participants)
    assert read_ack(send(gateway.port, text)).code == "AA"
    zams = settle(producer, 9)
    assert ("Z01", "V3", "Y", "", "") in [zam_view(z) for z in zams]
    entries = {e["uniqueId"]: e for e in stored(dmp_mock)}
    assert entries[uid(replacing)]["status"] == DELETED
    assert xdm_action(mails(mss_mock, PER_MAILBOX)[-1]) == "D"


def test_the_same_message_twice_is_delivered_once(
    gateway: Gateway, producer: Producer, dmp_mock: Any, mss_mock: MssMock
) -> None:
    text = mdm(f.cda(seed=608), control_id="TWICE", flags=ROW_PS_ONLY, participants=PS)
    assert read_ack(send(gateway.port, text)).code == "AA"
    assert read_ack(send(gateway.port, text)).code == "AA"
    settle(producer, 5)
    assert len(stored(dmp_mock)) == 1
    assert len(mss_mock.mailbox(PER_MAILBOX)) == 1
    assert gateway.counts["queued"] == 1 and gateway.counts["replayed"] == 1


# -- refusals over MLLP --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "code", "location", "hl7", "application"),
    [
        (lambda t: t.replace("|2.6|", "|2.5|", 1), "AE", "MSH^1^12", "203", ""),
        (lambda t: t.replace("MDM^T02^MDM_T02", "MDM^T11^MDM_T02"), "AE", "MSH^1^9^1^2", "201", ""),
        (
            lambda t: t.replace(
                "DESTMSSANTEPAT^Destmssantepat^MetaDMPMSS||Y",
                "DESTMSSANTEPAT^Destmssantepat^MetaDMPMSS||N",
            ),
            "AE",
            "OBX^8^5",
            "207",
            "906",
        ),
        (lambda t: t.replace("ORC|NW", "ORC|CA"), "AE", "ORC^1^1", "199", ""),
        (lambda t: t.replace("UNICODE UTF-8", "8859/1"), "AE", "MSH^1^18", "103", ""),
        (
            lambda t: t.replace("^^^^L||19751231", "^^^^L||19751231").replace(
                ZOE_INS + "^^^", "297022A02077878^^^"
            ),
            "AE",
            "PID^1^3",
            "207",
            "904",
        ),
        (
            lambda t: "\r".join(s for s in t.split("\r") if not s.startswith("TXA")),
            "AE",
            "TXA^1",
            "100",
            "",
        ),
        (
            lambda t: t.replace(
                "^D^^^RPPS|||EHPAD DES TILLEULS^^^^^ASIP-SANTE-ST&1.2.250.1.71.4.2.2&ISO^FINEG^^^010000016",
                "^D^^^RPPS|||X^^^^^&1.2.250.1.71.4.2.2&ISO^FINEG^^^999999999",
            ),
            "AE",
            "PRT^1^8^1^10",
            "207",
            "901",
        ),
    ],
)
def test_refused_messages_get_the_guides_errors(
    gateway: Gateway,
    producer: Producer,
    dmp_mock: Any,
    change: Any,
    code: str,
    location: str,
    hl7: str,
    application: str,
) -> None:
    text = change(mdm(f.cda(seed=609), control_id="BAD", participants=ALL))
    ack = read_ack(send(gateway.port, text))
    assert (ack.code, ack.acknowledged) == (code, "BAD")
    (error,) = ack.errors
    assert error["location"] == location
    assert (
        error["code"].split("^")[0] == hl7
        and error["code"].split("^")[2] == "messageErrorCondition"
    )
    assert error["severity"] == "E"
    assert error["application"].split("^")[0] == application
    if application:
        assert error["application"].split("^")[2] == "applicationErrorCode"
    assert gateway.store.status().total == 0  # nothing queued
    time.sleep(0.3)
    assert stored(dmp_mock) == [] and producer.messages == []


@pytest.mark.parametrize(
    ("data", "location", "hl7"),
    [
        (b"this is not HL7", "MSH^1", "100"),
        (
            b"MSH|^~\\&|DUI|EHPAD|||x||MDM^T02^MDM_T02|M1|P|2.6\rPID|1||\\Zbad\\^^^\rOBX|1",
            "PID^1^3",
            "102",
        ),
        (
            "MSH|^~\\&|DUI|EHPAD|SEGURLINK|EHPAD|x||MDM^T02^MDM_T02|M1|P|2.6|||||FRA|UNICODE UTF-8\rEVN||x\r".encode(
                "utf-16"
            ),
            "MSH^1",
            "100",
        ),
    ],
)
def test_malformed_messages_get_an_ae(
    gateway: Gateway, data: bytes, location: str, hl7: str
) -> None:
    ack = read_ack(send(gateway.port, data))
    assert ack.code == "AE"
    assert ack.errors[0]["location"] == location and ack.errors[0]["code"].split("^")[0] == hl7


def test_ar_when_the_outbox_cannot_store_and_nothing_is_half_written(
    gateway: Gateway,
    producer: Producer,
    dmp_mock: Any,
    mss_mock: MssMock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # DMP + mails: the outbox fails on the mail job, after the DMP job was inserted in the
    # same transaction; the AR leaves nothing queued (no deposit without its mails).
    text = mdm(f.cda(seed=610), control_id="AR1", flags=ROW_PS_ONLY, participants=PS)
    real = SqlStore._insert

    def failing(store: Any, tx: Any, job: Any) -> Any:
        if job.kind == "gateway.mail":
            raise OutboxError("database is locked")
        return real(store, tx, job)

    monkeypatch.setattr(SqlStore, "_insert", failing)
    ack = read_ack(send(gateway.port, text))
    assert ack.code == "AR" and ack.errors[0]["code"].split("^")[0] == "207"
    assert gateway.store.status().total == 0
    time.sleep(0.5)
    assert stored(dmp_mock) == [] and mss_mock.mailbox(PER_MAILBOX) == []
    monkeypatch.setattr(SqlStore, "_insert", real)
    assert read_ack(send(gateway.port, text)).code == "AA"  # the producer sends it again
    zams = [zam_view(z)[:3] for z in settle(producer, 5)]
    assert (
        sorted(zams)
        == [("Z01", "AR1", "Y")] + [("Z02", "AR1", "Y")] * 2 + [("Z03", "AR1", "Y")] * 2
    )
    assert len(stored(dmp_mock)) == 1 and len(mss_mock.mailbox(PER_MAILBOX)) == 1


# -- business acknowledgements: failures and retries ------------------------------------------------


def test_a_dmp_refusal_is_a_z01_n(gateway: Gateway, producer: Producer, dmp_mock: Any) -> None:
    document = f.cda(f.MICHELANGELO, seed=611)  # a patient without a DMP
    text = mdm(document, control_id="NODMP", flags=DMP_ONLY, participants=[sender_prt()])
    assert read_ack(send(gateway.port, text)).code == "AA"  # the ACK says "queued"
    (zam,) = settle(producer, 1)
    event, original, status, _, error = zam_view(zam)
    assert (event, original, status) == ("Z01", "NODMP", "N")
    assert error.split("^")[0] == "XDSUnknownPatientId" and error.split("^")[2] == "DMP_ERROR_CODE"
    assert field_text(zam, "ERR", 3).split("^")[0] == "207"
    (dead,) = gateway.store.jobs("dead")
    assert dead.kind == "gateway.dmp" and dead.last_error is not None


def test_bounces_are_z02_n(gateway: Gateway, producer: Producer, mss_mock: MssMock) -> None:
    bounced = "nobody@hopital-test.mssante.fr"  # accepted at RCPT, then a DSN
    refused = "nobody@segurlink-test.mssante.fr"  # refused at RCPT
    participants = [recipient_prt(PER_MAILBOX), recipient_prt(bounced), recipient_prt(refused)]
    flags = ROW_PS_ONLY | {"DESTDMP": "N"}
    text = mdm(
        f.cda(seed=612),
        control_id="BOUNCE",
        flags=flags,
        participants=participants,
        acks={"ACK_RECEPTION": "Y", "ACK_LECTURE_MSS": "N"},
    )
    assert read_ack(send(gateway.port, text)).code == "AA"
    views = sorted(zam_view(z) for z in settle(producer, 3))
    assert views[0] == (
        "Z02",
        "BOUNCE",
        "N",
        bounced,
        "550^" + views[0][4].split("^")[1] + "^SMTPERRORCODE",
    )
    assert views[1][:4] == ("Z02", "BOUNCE", "N", refused) and views[1][4].startswith("550^")
    assert views[2][:4] == ("Z02", "BOUNCE", "Y", PER_MAILBOX)


def test_an_error_mdn_is_a_z03_n(gateway: Gateway, producer: Producer, mss_mock: MssMock) -> None:
    mss_mock.known_patients = set()  # the receiving DPI does not know Zoé: 902
    flags = ROW_PS_ONLY | {"DESTDMP": "N"}
    text = mdm(
        f.cda(seed=613),
        control_id="MDN902",
        flags=flags,
        participants=[recipient_prt(INTEGRATION_MAILBOX)],
        acks={"ACK_RECEPTION": "N", "ACK_LECTURE_MSS": "Y"},
    )
    assert read_ack(send(gateway.port, text)).code == "AA"
    (zam,) = settle(producer, 1)
    assert zam_view(zam)[:4] == ("Z03", "MDN902", "N", INTEGRATION_MAILBOX)
    code, label, system = zam_view(zam)[4].split("^")
    assert (code, system) == ("902", "applicationErrorCode") and label


def test_a_zam_is_sent_again_until_the_producer_accepts_it(
    gateway: Gateway, producer: Producer, dmp_mock: Any
) -> None:
    producer.answers = ["AR", None, "AA"]  # reject, then drop the connection, then accept
    text = mdm(f.cda(seed=614), control_id="RETRY", flags=DMP_ONLY, participants=[sender_prt()])
    assert read_ack(send(gateway.port, text)).code == "AA"
    zams = settle(producer, 3)
    assert len({field_text(z, "MSH", 10) for z in zams}) == 1  # the same ZAM each time
    wait_for(lambda: gateway.store.status().count("done") == 2, what="jobs done")
    (job,) = gateway.store.jobs(kind="gateway.zam")
    assert job.state.value == "done" and job.attempts == 3


def test_a_zam_the_producer_refuses_is_not_sent_again(
    gateway: Gateway, producer: Producer, dmp_mock: Any
) -> None:
    producer.answers = ["AE"]  # the producer says the ZAM itself is wrong: no retry
    text = mdm(f.cda(seed=617), control_id="ZAMAE", flags=DMP_ONLY, participants=[sender_prt()])
    assert read_ack(send(gateway.port, text)).code == "AA"
    (zam,) = settle(producer, 1)
    assert zam_view(zam)[:3] == ("Z01", "ZAMAE", "Y")
    wait_for(lambda: gateway.store.jobs("dead", kind="gateway.zam"), what="the dead ZAM job")
    (job,) = gateway.store.jobs(kind="gateway.zam")
    assert job.attempts == 1 and job.last_error is not None
    assert "refused the ZAM^Z01: AE" in job.last_error.message
    assert len(stored(dmp_mock)) == 1  # the deposit stands


# -- the reverse direction: a mail in the APP mailbox becomes an MDM ---------------------------


@pytest.mark.parametrize(
    ("action", "event", "orc", "obx11"),
    [(None, "T02", "NW", "F"), ("replace", "T10", "RO", "C"), ("delete", "T04", "CA", "D")],
)
def test_a_received_mail_becomes_an_mdm_to_the_dui(
    gateway: Gateway,
    producer: Producer,
    mss_mock: MssMock,
    mss_settings: Any,
    action: Literal["replace", "delete"] | None,
    event: str,
    orc: str,
    obx11: str,
) -> None:
    document = f.cda(seed=615)
    if action == "replace":
        document = build_document(f.replacement(f.make_document(seed=615), seed=616))
    sender = MssClient.from_settings(mss_settings)
    outgoing = sender.compose(
        Draft(
            sender=REMOTE_PER_MAILBOX,
            to=(APP_MAILBOX,),
            documents=(document,),
            text="Pour le dossier",
            action=action,
        )
    )
    mss_mock.deliver(APP_MAILBOX, outgoing.data)
    (mdm_in,) = wait_for(lambda: producer.of_type("MDM^"), what="the MDM")
    assert field_text(mdm_in, "MSH", 9) == f"MDM^{event}^MDM_T02"
    assert field_text(mdm_in, "MSH", 21) == "1.1^CISIS_CDA_HL7_LPS"
    assert (field_text(mdm_in, "ORC", 1), field_text(mdm_in, "PV1", 2)) == (orc, "N")
    obx = [s for s in mdm_in if str(s[0]) == "OBX"]
    assert str(obx[0][11]) == obx11
    assert base64.b64decode(str(obx[0][5]).split("^")[4]) == document
    prts = [str(s) for s in mdm_in if str(s[0]) == "PRT"]
    assert prts[0].startswith("PRT||UC||SB^") and prts[0].endswith(f"^^X.400^{REMOTE_PER_MAILBOX}")
    assert prts[1].startswith("PRT||UC||RCT^") and prts[1].endswith(f"^^X.400^{APP_MAILBOX}")
    assert str(obx[1][3]).split("^")[0] == outgoing.message_id
    assert (
        base64.b64decode(str(obx[1][5]).split("^")[4])
        .decode()
        .strip()
        .startswith("Pour le dossier")
    )
    assert [str(o[3]).split("^")[0] for o in obx[2:]] == [
        "MASQUE_PS",
        "INVISIBLE_PATIENT",
        "INVISIBLE_REP_LEGAUX",
        "MODIF_CONF_CODE",
    ]
    assert field_text(mdm_in, "PID", 3).startswith(f"{ZOE_INS}^^^ASIP-SANTE-INS-NIR&")
    time.sleep(0.6)
    assert len(producer.of_type("MDM^")) == 1  # read again at every poll, queued once


# -- privacy ------------------------------------------------------------------------------------


def test_health_data_never_in_logs(
    gateway: Gateway,
    producer: Producer,
    dmp_mock: Any,
    mss_mock: MssMock,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    document = f.cda(seed=617)
    text = mdm(
        document, control_id="PRIV", participants=ALL, bodies={"CORPSMAIL_PATIENT": "Bonjour Zoé"}
    )
    assert read_ack(send(gateway.port, text)).code == "AA"
    settle(producer, 7)
    bad = text.replace("1975", "1957")  # a refused one too: its error must not quote values
    read_ack(send(gateway.port, bad.replace("|2.6|", "|2.5|", 1)))
    logged = "\n".join(f"{r.name} {r.getMessage()}" for r in caplog.records)
    assert "gateway MDM^T02 id=PRIV ack=AA" in logged
    for secret in (
        ZOE_INS,
        ZOE_INS[:13],
        "ADRUN",
        "ZOE",
        "Zoé",
        "19751231",
        "1975-12-31",
        ZOE_ADDRESS,
        base64.b64encode(document)[:40].decode(),
        "Bonjour",
    ):
        assert secret not in logged, secret
