"""Helpers of the gateway tests, written independently of segurlink's builders:

* :func:`mdm` / :func:`oru`: document messages as a producer writes them (hand-written
  segments, the guide's field positions);
* :class:`Producer`: the producer's MLLP input (raw sockets) that records the ZAMs and
  MDMs the gateway sends and answers them (``AA`` by default, or a scripted sequence);
* :func:`send`: a raw-socket MLLP producer sending one message and reading its ACK;
* :func:`hl7_fields`: a message read back with python-hl7 directly (not segurlink);
* fixtures: the settings of a gateway on the DMP and MSSanté mocks, a running gateway.
"""

from __future__ import annotations

import base64
import socket
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import hl7
import pytest
from segurlink_mocks.mssante import PER_MAILBOX, REMOTE_PER_MAILBOX

from segurlink.config import Settings
from segurlink.gateway import Gateway
from segurlink.outbox.sqlite import SqliteStore
from tests.dmp import factory as f

FINESS = f.FINESS
INS_OID = "1.2.250.1.213.1.4.8"
ZOE_INS = f.ZOE[0]
ZOE_ADDRESS = f"{ZOE_INS}@patient.mssante.fr"
SENDER_ID = "801234567866"
FLAGS = (
    "MASQUE_PS",
    "INVISIBLE_PATIENT",
    "INVISIBLE_REP_LEGAUX",
    "CONNEXION_SECRETE",
    "MODIF_CONF_CODE",
    "DESTDMP",
    "DESTMSSANTEPS",
    "DESTMSSANTEPAT",
)
#: The flags of each row of the MSSanté matrix (one allowed combination each).
ROW_PS_AND_PATIENT = dict.fromkeys(FLAGS, "N") | {
    "DESTDMP": "Y",
    "DESTMSSANTEPS": "Y",
    "DESTMSSANTEPAT": "Y",
}
ROW_PS_ONLY = dict.fromkeys(FLAGS, "N") | {
    "INVISIBLE_PATIENT": "Y",
    "DESTDMP": "Y",
    "DESTMSSANTEPS": "Y",
}
ROW_PATIENT_ONLY = dict.fromkeys(FLAGS, "N") | {"MASQUE_PS": "Y", "DESTMSSANTEPAT": "Y"}
DMP_ONLY = dict.fromkeys(FLAGS, "N") | {"DESTDMP": "Y"}
EVENTS = {"T02": ("NW", "F"), "T10": ("RO", "C"), "T04": ("CA", "D")}


def sender_prt(organization: str = FINESS, person: str = SENDER_ID) -> str:
    return (
        f"PRT||UC||SB^Send by^participation|{person}^DUPONT^JEAN^^^^^^ASIP-SANTE-PS"
        "&1.2.250.1.71.4.2.1&ISO^D^^^RPPS|||EHPAD DES TILLEULS^^^^^ASIP-SANTE-ST"
        f"&1.2.250.1.71.4.2.2&ISO^FINEG^^^{organization}"
    )


def recipient_prt(address: str, person: str = "") -> str:
    xcn = f"{person}^HODA^ADAM^^^^^^&1.2.250.1.71.4.2.1&ISO^D^^^RPPS" if person else ""
    return f"PRT||UC||RCT^Result Copies To^participation|{xcn}" + "|" * 10 + f"^^X.400^{address}"


def patient_prt(address: str = ZOE_ADDRESS) -> str:
    local = address.split("@")[0]
    return (
        f"PRT||UC||RCT^Result Copies To^participation|{local}^ADRUN^ZOE^^^^^^&{INS_OID}&ISO"
        "^^^^INS" + "|" * 10 + f"^^X.400^{address}"
    )


def reply_prt(address: str) -> str:
    return "PRT||UC||REPLY^Reply To^participation" + "|" * 11 + f"^^X.400^{address}"


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def mdm(
    document: bytes,
    *,
    event: str = "T02",
    control_id: str = "MSG0001",
    flags: Mapping[str, str] = ROW_PS_AND_PATIENT,
    acks: Mapping[str, str] | None = None,
    participants: Sequence[str] | None = None,
    bodies: Mapping[str, str] | None = None,
    fin: bool = False,
    order_control: str | None = None,
    result_status: str | None = None,
    pid3: str | None = None,
    txa12: str | None = None,
    txa13: str | None = None,
    version: str = "2.6",
    charset: str = "UNICODE UTF-8",
    kind: str = "MDM",
    structure: str | None = None,
    flag_order: Sequence[str] | None = None,
    drop: Sequence[str] = (),
    separator: str = "\r",
    patient_class: str = "N",
    processing: str = "P",
) -> str:
    """A document message as the producer writes it (MDM 2.6 by default; ORU with
    ``kind="ORU"``). Fields not given follow the guide and the CDA."""
    oru = kind == "ORU"
    orc1, obx11 = EVENTS.get(event, ("NW", "F"))
    if order_control is not None:
        orc1 = order_control
    if result_status is not None:
        obx11 = result_status
    msh9 = f"ORU^R01^{structure or 'ORU_R01'}" if oru else f"MDM^{event}^{structure or 'MDM_T02'}"
    if pid3 is None:  # the CDA's recordTarget ids, as the guide wants
        from segurlink.cda import parse_header

        patient = parse_header(document).patient
        reps = [f"{i.extension}^^^&{i.root}&ISO^PI" for i in patient.ids if i.root == f.IPP_ROOT]
        if patient.ins is not None:
            ins = patient.ins
            reps.insert(0, f"{ins.value}^^^ASIP-SANTE-INS-NIR&{ins.oid}&ISO^INS")
        pid3 = "~".join(reps)
    if participants is None:
        participants = [
            sender_prt(),
            recipient_prt(PER_MAILBOX, "101234567897"),
            recipient_prt(REMOTE_PER_MAILBOX),
            patient_prt(),
        ]
    text = "TEXT" if oru else "text"
    segments = [
        f"MSH|^~\\&|DUI|EHPAD|SEGURLINK|EHPAD|20240301103000||{msh9}|{control_id}|{processing}"
        f"|{version}|||||FRA|{charset}|||2.1^CISIS_CDA_HL7_V2",
    ]
    if not oru:
        segments.append("EVN||20240301103000")
    segments += [
        f"PID|1||{pid3}||ADRUN^ZOE^ZOE^^^^L||19751231|F",
        f"PV1|1|{patient_class}",
        f"ORC|{orc1}",
        "OBR|1|||80788-3^Projet personnalisé^LN",
    ]
    if not oru:
        from segurlink.cda import parse_header

        if txa12 is None or txa13 is None:
            header = parse_header(document)
            parent_doc = header.parent_document
            unique = txa12 if txa12 is not None else _ei(header.id.xds_unique_id)
        else:
            parent_doc, unique = None, txa12
        parent = (
            txa13
            if txa13 is not None
            else (_ei(parent_doc.id.xds_unique_id) if parent_doc is not None else "")
        )
        segments.append("TXA|1|80788-3|TEXT" + "|" * 9 + f"{unique}|{parent}||||AU")
    segments.append(
        f"OBX|1|ED|80788-3^Projet personnalisé^LN||^{text}^XML^Base64^{b64(document)}||||||{obx11}"
    )
    segments += list(participants)
    value_type = "CE" if oru else "CWE"
    order = list(flag_order or FLAGS)
    sequence = 2
    for code in order:
        if code not in flags:
            continue
        segments.append(
            f"OBX|{sequence}|{value_type}|{code}^{code.title()}^MetaDMPMSS||"
            f"{flags[code]}^^expandedYes-NoIndicator||||||F"
        )
        sequence += 1
        if code == "DESTMSSANTEPAT" and fin:
            segments.append("NTE|1|||FIN|")
    for code, value in (acks or {"ACK_RECEPTION": "Y", "ACK_LECTURE_MSS": "Y"}).items():
        segments.append(
            f"OBX|{sequence}|{value_type}|{code}^{code.title()}^MetaDMPMSS||"
            f"{value}^^expandedYes-NoIndicator||||||F"
        )
        sequence += 1
    for code, body in (bodies or {}).items():
        segments.append(
            f"OBX|{sequence}|ED|{code}^Corps du mail^MetaDMPMSS||^{text}^^Base64^"
            f"{b64(body.encode('utf-8'))}||||||F"
        )
        sequence += 1
    segments = [s for s in segments if s.split("|", 1)[0] not in drop]
    return separator.join(segments) + separator


def _ei(unique_id: str) -> str:
    root, _, extension = unique_id.partition("^")
    return f"{extension}^^{root}^ISO" if extension else root


def oru(document: bytes, **kwargs: Any) -> str:
    kwargs.setdefault("version", "2.5")
    return mdm(document, kind="ORU", **kwargs)


# -- reading what the gateway sends, with python-hl7 directly --------------------------------


def hl7_fields(data: bytes | str) -> hl7.Message:
    text = data.decode("utf-8") if isinstance(data, bytes) else data
    return hl7.parse(text.replace("\n", "\r"))


def field_text(message: hl7.Message, segment: str, number: int, nth: int = 0) -> str:
    found = [s for s in message if str(s[0]) == segment]
    if nth >= len(found) or number >= len(found[nth]):
        return ""
    return str(found[nth][number])


@dataclass(frozen=True)
class Ack:
    code: str
    acknowledged: str
    errors: list[dict[str, str]]


def read_ack(data: bytes) -> Ack:
    message = hl7_fields(data)
    errors = [
        {
            "location": str(s[2]) if len(s) > 2 else "",
            "code": str(s[3]) if len(s) > 3 else "",
            "severity": str(s[4]) if len(s) > 4 else "",
            "application": str(s[5]) if len(s) > 5 else "",
        }
        for s in message
        if str(s[0]) == "ERR"
    ]
    return Ack(field_text(message, "MSA", 1), field_text(message, "MSA", 2), errors)


# -- MLLP with raw sockets -------------------------------------------------------------------


def send(port: int, message: bytes | str, *, timeout: float = 30.0) -> bytes:
    """Send one message over MLLP (raw socket) and return the ACK frame's content."""
    data = message.encode("utf-8") if isinstance(message, str) else message
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(b"\x0b" + data + b"\x1c\r")
        buffer = b""
        while b"\x1c\r" not in buffer:
            chunk = sock.recv(65536)
            if not chunk:
                raise ConnectionError("the gateway closed the connection without an ACK")
            buffer += chunk
    return buffer.split(b"\x1c\r", 1)[0].lstrip(b"\x0b")


@dataclass
class Producer:
    """The producer's MLLP input: records every message, answers ``answers`` in turn
    (then ``AA``); ``None`` in the script closes the connection without an ACK."""

    answers: list[str | None] = field(default_factory=list)
    messages: list[bytes] = field(default_factory=list)
    port: int = 0
    _server: socket.socket | None = None
    _stop: threading.Event = field(default_factory=threading.Event)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def start(self) -> Producer:
        self._server = socket.create_server(("127.0.0.1", self.port))
        self._server.settimeout(0.1)
        self.port = self._server.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._server is not None:
            self._server.close()

    def _accept(self) -> None:
        assert self._server is not None
        while not self._stop.is_set():
            try:
                conn, _ = self._server.accept()
            except OSError:
                continue
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        conn.settimeout(10)
        buffer = b""
        with conn:
            while not self._stop.is_set():
                try:
                    chunk = conn.recv(65536)
                except OSError:
                    return
                if not chunk:
                    return
                buffer += chunk
                while b"\x1c\r" in buffer:
                    frame, buffer = buffer.split(b"\x1c\r", 1)
                    message = frame.lstrip(b"\x0b")
                    with self._lock:
                        self.messages.append(message)
                        answer = self.answers.pop(0) if self.answers else "AA"
                    if answer is None:
                        return  # dropped: no ACK
                    msh = message.split(b"\r")[0].split(b"|")
                    event = msh[8].split(b"^")[1].decode() if b"^" in msh[8] else ""
                    ack = (
                        f"MSH|^~\\&|DUI|EHPAD|SEGURLINK||20240301103100||ACK^{event}^ACK|"
                        f"P{len(self.messages)}|P|2.6\rMSA|{answer}|{msh[9].decode()}\r"
                    ).encode()
                    conn.sendall(b"\x0b" + ack + b"\x1c\r")

    def of_type(self, message_type: str) -> list[hl7.Message]:
        with self._lock:
            found = [hl7_fields(m) for m in self.messages]
        return [m for m in found if field_text(m, "MSH", 9).startswith(message_type)]

    def zams(self, event: str | None = None) -> list[hl7.Message]:
        zams = self.of_type("ZAM^")
        if event is not None:
            zams = [z for z in zams if field_text(z, "MSH", 9) == f"ZAM^{event}^ZAM_Z01"]
        return zams


def wait_for(condition: Callable[[], Any], timeout: float = 30.0, what: str = "") -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what or condition}")


# -- fixtures ------------------------------------------------------------------------------


def gateway_tables(dmp_mock: Any, mss_mock: Any, pki: Any, store: Path) -> dict[str, Any]:
    from segurlink_mocks._core.installation import base_tables

    tables: dict[str, Any] = dict(base_tables(pki))
    tables["dmp"] = dict(dmp_mock.settings_table())
    tables["mssante"] = dict(mss_mock.settings_table())
    tables["outbox"] = {
        "store": str(store),
        "lease": 5.0,
        "poll_interval": 0.1,
        "retry_initial": 0.2,
        "retry_maximum": 1.0,
    }
    tables["gateway"] = {"mailbox_poll": 0.2, "application": "PFI", "facility": "EHPAD"}
    return tables


@pytest.fixture
def gateway_settings(dmp_mock: Any, mss_mock: Any, segurlink_pki: Any, tmp_path: Path) -> Settings:
    return Settings.from_mapping(
        gateway_tables(dmp_mock, mss_mock, segurlink_pki, tmp_path / "outbox.sqlite3")
    )


@pytest.fixture
def producer() -> Iterator[Producer]:
    running = Producer().start()
    yield running
    running.stop()


@pytest.fixture
def gateway(gateway_settings: Settings, producer: Producer, tmp_path: Path) -> Iterator[Gateway]:
    store = SqliteStore(tmp_path / "outbox.sqlite3")
    with Gateway(gateway_settings, reply=("127.0.0.1", producer.port), store=store) as running:
        running.start(workers=2)
        yield running
    store.close()


def document_id(document: bytes) -> str:
    from segurlink.cda import parse_header

    return parse_header(document).id.xds_unique_id
