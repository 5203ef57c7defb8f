"""Helpers of the HL7 tests: messages written by hand (not by segurlink's builder), a raw
socket MLLP receiver standing for the DUI, and the sample person added to the INSi mock."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.conftest import shared_path

SAMPLES = "hl7-samples"
ADT_SAMPLES = [
    "SGL_admission.er7",
    "SGL_sortie.er7",
    "Vague_2_Consentement_DMP_PAMFR_ConsentementConsultation_NonOppositionAlimentation.er7",
    "Vague_2_Consentement_DMP_PAMFR_NonConsentementConsultation_NonOppositionAlimentation.er7",
    "Vague_2_Consentement_DMP_PAMFR_NonConsentementConsultation_OppositionAlimentation.er7",
    "Vague_2_Consentement_DMP_PAMFR_NonRecueillieConsentementConsultation_NonOppositionAlimentation.er7",
    "Vague_2_Consentement_DMP_PAMFR_NonRecueillieConsentementConsultation_NonRecueillieOppositionAlimentation.er7",
]
SAMPLE_INS = "279035121518989"
TEST_OID = "1.2.250.1.213.1.4.10"


def sample(name: str) -> bytes:
    return shared_path(SAMPLES, name).read_bytes()


def adt(
    *,
    event: str = "A31",
    control_id: str = "MSG0001",
    birth_name: str = "ADRUN",
    first_name: str = "ZOE",
    first_names: str | None = None,
    birth_date: str = "19751231",
    sex: str = "F",
    cog: str | None = "63220",
    ins: str | None = None,
    oid: str = "1.2.250.1.213.1.4.8",
    status: str = "VALI",
    used_name: str | None = None,
    charset: str = "UNICODE UTF-8",
    sending: str = "GAM",
    extra_segments: str = "",
    separator: str = "\r",
) -> str:
    """An ADT message as a PAM FR sender writes it (hand-written, independent of segurlink)."""
    structure = {"A28": "ADT_A05", "A31": "ADT_A05", "A40": "ADT_A39", "A47": "ADT_A30"}.get(
        event, "ADT_A01"
    )
    pid3 = "LOC123^^^CHU-X&1.2.250.1.999.1&ISO^PI"
    if ins is not None:
        pid3 += f"~{ins}^^^ASIP-SANTE-INS-NIR&{oid}&ISO^INS^^20101207"
    names = (
        f"{birth_name}^{first_name}^{first_names if first_names is not None else first_name}^^^^L"
    )
    if used_name:
        names += f"~{used_name}^{first_name}^^^^^D"
    pid11 = "1 RUE DU PORT^^PARIS^^75001^FRA^H"
    if cog is not None:
        pid11 += f"~^^^^^^BDL^^{cog}"
    segments = [
        f"MSH|^~\\&|{sending}|CHU-X|DUI|CHU-X|20240306111154||ADT^{event}^{structure}|{control_id}"
        f"|P|2.5^FRA^2.11|||||FRA|{charset}|FR||2.11^IHE_FRANCE-2.11-PAM",
        "EVN||20240306111154",
        f"PID|1||{pid3}||{names}||{birth_date}|{sex}|||{pid11}" + "|" * 21 + status,
        "PV1|1|N",
    ]
    if extra_segments:
        segments.append(extra_segments)
    return separator.join(segments) + separator


@dataclass
class Receiver:
    """A DUI's HL7 input, written with raw sockets: records each message, answers ``code``."""

    code: str = "AA"
    messages: list[bytes] = field(default_factory=list)
    acknowledge: bool = True
    host: str = "127.0.0.1"
    port: int = 0
    _server: socket.socket | None = None
    _stop: threading.Event = field(default_factory=threading.Event)

    def start(self) -> Receiver:
        self._server = socket.create_server((self.host, 0))
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
                    self.messages.append(message)
                    if not self.acknowledge:
                        continue
                    control_id = message.split(b"\r")[0].split(b"|")[9].decode()
                    ack = (
                        f"MSH|^~\\&|DUI|CHU-X|SEGURLINK||20240101000000||ACK^A31^ACK|R{len(self.messages)}"
                        f"|P|2.5\rMSA|{self.code}|{control_id}\r"
                    ).encode()
                    conn.sendall(b"\x0b" + ack + b"\x1c\r")


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    running = Receiver().start()
    yield running
    running.stop()


@pytest.fixture
def sample_person(insi_mock):  # type: ignore[no-untyped-def]
    """The person of the official ADT samples, known to the INSi mock (test OID .10)."""
    from segurlink_mocks.insi.server import InsiPerson, InsRecord

    insi_mock.add_person(
        InsiPerson(
            "PAT-TROIS",
            ("DOMINIQUE",),
            "F",
            "1979-03-28",
            "63220",
            InsRecord("2790351215189", "89", TEST_OID),
        )
    )
    return insi_mock


def write(tmp_path: Path, name: str, data: bytes | str) -> Path:
    path = tmp_path / name
    path.write_bytes(data if isinstance(data, bytes) else data.encode("utf-8"))
    return path
