"""End to end: a sender's MLLP client -> segurlink's listener -> the INSi mock -> the A31 sent
to the DUI's HL7 input (a raw-socket receiver), and the ACK back to the sender."""

from __future__ import annotations

import datetime
import logging
import threading
from collections.abc import Iterator
from dataclasses import dataclass

import hl7.client
import pytest

from segurlink.config import Settings
from segurlink.hl7 import (
    AckCode,
    Acknowledgement,
    BridgeSettings,
    Hl7InsiBridge,
    MllpClient,
    MllpListener,
    PamMessage,
    parse_ack,
    parse_message,
)
from segurlink.identity import IdentityStatus, Ins
from segurlink.insi import InsiClient
from tests.hl7.conftest import ADT_SAMPLES, SAMPLE_INS, TEST_OID, Receiver, adt, sample

NOW = datetime.datetime(2024, 5, 1, 10, 30, 0)
ZOE_INS = "275126322074974"


@dataclass
class Bridge:
    bridge: Hl7InsiBridge
    listener: MllpListener
    receiver: Receiver
    insi_mock: object

    def send(self, message: bytes | str) -> tuple[bytes, Acknowledgement]:
        """Send with python-hl7's own MLLP client (another implementation)."""
        with hl7.client.MLLPClient("127.0.0.1", self.listener.port) as client:
            raw = client.send_message(message if isinstance(message, bytes) else message.encode())
        content = raw.strip(b"\x0b\x1c\r")
        return content, parse_ack(content)

    def forwarded(self) -> list[PamMessage]:
        return [parse_message(m) for m in self.receiver.messages]

    @property
    def insi_calls(self) -> int:
        return self.insi_mock.request_count  # type: ignore[attr-defined, no-any-return]


def start_bridge(
    settings: Settings, receiver: Receiver, insi_mock: object, **bridge_settings: object
) -> Iterator[Bridge]:
    insi = InsiClient.from_settings(settings)
    forwarder = MllpClient("127.0.0.1", receiver.port, ack_timeout=5)
    bridge = Hl7InsiBridge(
        insi,
        forwarder,
        settings=BridgeSettings(**bridge_settings),  # type: ignore[arg-type]
        clock=lambda: NOW,  # type: ignore[arg-type]
    )
    listener = MllpListener(bridge.handle, port=0).start()
    try:
        yield Bridge(bridge, listener, receiver, insi_mock)
    finally:
        listener.stop()
        forwarder.close()
        insi.close()


@pytest.fixture
def running(
    segurlink_mock_settings: Settings, receiver: Receiver, sample_person: object
) -> Iterator[Bridge]:
    yield from start_bridge(segurlink_mock_settings, receiver, sample_person)


def pid(message: bytes, number: int) -> str:
    line = next(s for s in message.decode().split("\r") if s.startswith("PID|"))
    return line.split("|")[number]


# -- qualified and written back ------------------------------------------------------------


def test_official_sample_is_qualified_and_an_a31_with_the_ins_goes_out(running: Bridge) -> None:
    _, ack = running.send(sample("SGL_admission.er7"))

    assert (ack.code, ack.acknowledged_id, ack.errors) == (AckCode.AA, "3975", ())
    (out,) = running.receiver.messages
    assert out.split(b"|")[8] == b"ADT^A31^ADT_A05"
    ins_rep = [r for r in pid(out, 3).split("~") if "^INS" in r]
    assert ins_rep == [f"{SAMPLE_INS}^^^ASIP-SANTE-INS-NIR&{TEST_OID}&ISO^INS^^20101207"]
    assert pid(out, 32) == "QUAL"  # VALI + INSi = QUAL
    written = parse_message(out).identity
    assert written.ins == Ins("2790351215189", "89", TEST_OID)
    assert written.local_ids[0].value == "000003"
    assert running.insi_calls == 1
    assert running.bridge.counts["forwarded"] == 1


@pytest.mark.parametrize("name", ADT_SAMPLES[2:])
def test_every_consent_sample_is_qualified(running: Bridge, name: str) -> None:
    _, ack = running.send(sample(name))
    assert ack.code is AckCode.AA
    assert pid(running.receiver.messages[-1], 32) == "QUAL"


def test_identity_without_document_is_recup_and_carries_no_ins(running: Bridge) -> None:
    _, ack = running.send(adt(status="PROV", ins=ZOE_INS))
    assert ack.code is AckCode.AA
    (out,) = running.forwarded()
    assert out.identity.status is IdentityStatus.RECUP
    assert out.identity.ins is None  # only a QUAL identity carries the INS
    assert [i.value for i in out.identity.identifiers] == ["LOC123"]


def test_vali_identity_without_ins_gets_insi_s_ins(running: Bridge) -> None:
    _, ack = running.send(adt(status="VALI"))
    assert ack.code is AckCode.AA
    (out,) = running.forwarded()
    assert (out.identity.ins, out.identity.status) == (
        Ins("2751263220749", "74"),
        IdentityStatus.QUAL,
    )


def test_requested_event_is_written(
    segurlink_mock_settings: Settings, receiver: Receiver, insi_mock: object
) -> None:
    for running in start_bridge(segurlink_mock_settings, receiver, insi_mock, event="A28"):
        running.send(adt(event="A01"))
    assert receiver.messages[0].split(b"|")[8] == b"ADT^A28^ADT_A05"


# -- idempotency ------------------------------------------------------------------------------


def test_replayed_message_gets_the_same_ack_and_is_not_processed_again(running: Bridge) -> None:
    first, _ = running.send(sample("SGL_admission.er7"))
    again, _ = running.send(sample("SGL_admission.er7"))
    assert again == first
    assert len(running.receiver.messages) == 1
    assert running.insi_calls == 1
    assert running.bridge.counts["replayed"] == 1


def test_reused_control_id_with_other_content_is_processed(running: Bridge) -> None:
    # Two official samples share MSH-3/4/10 (GAM, CHU-X, 3975) with different content.
    running.send(sample("SGL_admission.er7"))
    _, ack = running.send(sample(ADT_SAMPLES[2]))
    assert (ack.code, ack.acknowledged_id) == (AckCode.AA, "3975")
    assert len(running.receiver.messages) == 2


def test_same_message_on_two_connections_at_once_is_forwarded_once(running: Bridge) -> None:
    message = adt(control_id="TWICE").encode()
    acks: list[Acknowledgement] = []

    def send() -> None:
        acks.append(running.send(message)[1])

    threads = [threading.Thread(target=send) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(20)
    assert [a.code for a in acks] == [AckCode.AA, AckCode.AA]
    assert len(running.receiver.messages) == 1
    assert running.insi_calls == 1


# -- nothing written back ----------------------------------------------------------------------


def test_cr_01_is_ae_and_nothing_is_written(running: Bridge) -> None:
    _, ack = running.send(
        adt(
            birth_name="HOUILLES",
            first_name="PIERRE",
            first_names="PIERRE PAUL JACQUES",
            sex="M",
            birth_date="19930127",
            cog="75056",
        )
    )
    assert ack.code is AckCode.AE
    assert [(e.code, e.application_code) for e in ack.errors] == [("207", "INSI_NOT_FOUND")]
    assert running.receiver.messages == []
    # one call per birth first name, then one with all of them (specs/insi.md)
    assert running.insi_calls == 4


def test_cr_02_is_ae_and_nothing_is_written(running: Bridge) -> None:
    _, ack = running.send(
        adt(birth_name="DE VINCI", first_name="LEONARDO", sex="M", birth_date="20140201", cog=None)
    )
    assert ack.code is AckCode.AE
    assert [e.application_code for e in ack.errors] == ["INSI_MULTIPLE"]
    assert running.receiver.messages == []


def test_insi_fault_is_ar_nothing_written_and_the_resent_message_is_processed(
    running: Bridge,
) -> None:
    running.insi_mock.inject("technical")  # type: ignore[attr-defined]
    message = sample("SGL_admission.er7")
    _, ack = running.send(message)
    assert ack.code is AckCode.AR
    (error,) = ack.errors
    assert error.application_code == "INSI_UNAVAILABLE"
    assert "InsiFault siram_40/insi_102" in error.message
    assert running.receiver.messages == []
    _, ack = running.send(message)  # the sender sends it again once INSi is back
    assert ack.code is AckCode.AA
    assert len(running.receiver.messages) == 1


def test_insi_unreachable_is_ar(running: Bridge) -> None:
    running.insi_mock.inject("reset")  # type: ignore[attr-defined]
    _, ack = running.send(adt())
    assert ack.code is AckCode.AR
    assert running.receiver.messages == []


def test_traits_that_differ_from_insi_s_are_ae(running: Bridge) -> None:
    _, ack = running.send(adt(cog="63113"))  # INSi finds ADRUN ZOE born in 63220
    assert ack.code is AckCode.AE
    assert [(e.application_code, e.location) for e in ack.errors] == [
        ("TRAITS_MISMATCH", "PID-11.9")
    ]
    assert running.receiver.messages == []


def test_another_ins_in_the_message_is_ae(running: Bridge) -> None:
    _, ack = running.send(adt(ins="297022A02077878"))
    assert [e.application_code for e in ack.errors] == ["INS_CONFLICT"]
    assert running.receiver.messages == []


def test_doubtful_identity_is_ae_and_insi_is_not_called(running: Bridge) -> None:
    _, ack = running.send(adt(status="PROV~DOUTE"))
    assert [e.application_code for e in ack.errors] == ["INSI_FORBIDDEN"]
    assert running.insi_calls == 0
    assert running.receiver.messages == []


def test_invalid_traits_are_ae_naming_the_field(running: Bridge) -> None:
    _, ack = running.send(adt(birth_name="R2D2"))
    assert [(e.code, e.location) for e in ack.errors] == [("102", "PID-5.1")]
    assert running.insi_calls == 0


def test_event_not_qualified_is_aa_and_nothing_is_done(running: Bridge) -> None:
    _, ack = running.send(sample("SGL_sortie.er7"))  # A03
    assert (ack.code, ack.text) == (AckCode.AA, "A03: not qualified by segurlink")
    assert running.insi_calls == 0
    assert running.receiver.messages == []


# -- unreadable messages --------------------------------------------------------------------------


def test_malformed_field_is_ae_naming_it(running: Bridge) -> None:
    _, ack = running.send(adt(birth_date="19751341", control_id="BAD7"))
    assert (ack.code, ack.acknowledged_id) == (AckCode.AE, "BAD7")
    assert [(e.code, e.location) for e in ack.errors] == [("102", "PID-7")]


def test_unsupported_message_type_is_ar(running: Bridge) -> None:
    _, ack = running.send("MSH|^~\\&|RIS|X|DUI|X|2024||ORU^R01^ORU_R01|77|P|2.5\rPID|1")
    assert (ack.code, ack.acknowledged_id) == (AckCode.AR, "77")
    assert [(e.code, e.location) for e in ack.errors] == [("200", "MSH-9")]


def test_unreadable_msh_is_ar_with_empty_msa_2(running: Bridge) -> None:
    _, ack = running.send("PID|1||X")
    assert (ack.code, ack.acknowledged_id) == (AckCode.AR, "")
    assert ack.errors[0].code == "100"


# -- the receiver ------------------------------------------------------------------------------------


def test_receiver_refusing_the_update_gives_ae_kept_for_replays(running: Bridge) -> None:
    running.receiver.code = "AE"
    first, ack = running.send(adt())
    assert ack.code is AckCode.AE
    assert [e.application_code for e in ack.errors] == ["FORWARD_REFUSED"]
    again, _ = running.send(adt())
    assert again == first and len(running.receiver.messages) == 1


def test_receiver_rejecting_the_update_gives_ar_and_the_message_is_processed_again(
    running: Bridge,
) -> None:
    running.receiver.code = "AR"
    _, ack = running.send(adt())
    assert [e.application_code for e in ack.errors] == ["FORWARD_FAILED"]
    running.receiver.code = "AA"
    _, ack = running.send(adt())
    assert ack.code is AckCode.AA
    assert len(running.receiver.messages) == 2
    # The same update (same MSH-10) is sent again: the receiver can deduplicate it.
    ids = {m.split(b"\r")[0].split(b"|")[9] for m in running.receiver.messages}
    assert len(ids) == 1


def test_receiver_down_gives_ar(segurlink_mock_settings: Settings, insi_mock: object) -> None:
    gone = Receiver().start()
    gone.stop()
    for running in start_bridge(segurlink_mock_settings, gone, insi_mock):
        _, ack = running.send(adt())
        assert ack.code is AckCode.AR
        assert [e.application_code for e in ack.errors] == ["FORWARD_FAILED"]


def test_receiver_acknowledging_another_message_gives_ar(
    segurlink_mock_settings: Settings, insi_mock: object
) -> None:
    class Wrong:
        def send(self, message: bytes) -> bytes:
            return b"MSH|^~\\&|R||||2024||ACK|1|P|2.5\rMSA|AA|NOT-MINE\r"

    bridge = Hl7InsiBridge(InsiClient.from_settings(segurlink_mock_settings), Wrong())
    ack = parse_ack(bridge.handle(adt().encode()))
    assert ack.code is AckCode.AR


# -- no health data in logs ------------------------------------------------------------------------


def test_no_health_data_in_any_log_record(
    running: Bridge, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)  # every logger, third-party ones included
    running.send(sample("SGL_admission.er7"))
    running.send(adt(birth_date="19751341"))
    running.send(adt(birth_name="HOUILLES", first_name="PIERRE", sex="M", birth_date="19930127"))
    running.send(adt(birth_name=r"A\Q\B"))
    text = "\n".join(f"{r.name} {r.getMessage()} {r.exc_text or ''}" for r in caplog.records)
    assert "hl7 ADT^A01 id=3975 ack=AA" in text  # the log is there...
    for secret in (
        "PAT-TROIS",
        "DOMINIQUE",
        SAMPLE_INS,
        "2790351215189",
        "19790328",
        "1979-03-28",
        "000003",
        "Breteuil",
        "ADRUN",
        "HOUILLES",
        "1975",
        "1993",
        ZOE_INS,
        "A\\Q\\B",
        "63220",
    ):
        assert secret not in text, secret  # ...without health data
