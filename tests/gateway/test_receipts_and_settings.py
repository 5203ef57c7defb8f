"""Receipts to ZAMs (pure), received documents to jobs, ZAM job keys, DMP errors in a
Z01, and the ``[gateway]`` settings."""

from __future__ import annotations

from typing import Any, Literal

import pytest

from segurlink.config import Settings
from segurlink.errors import ConfigurationError, InputError, NotFound, SoapFault, XdsError, XdsIssue
from segurlink.gateway import Action, BusinessAck, BusinessAckKind, GatewaySettings
from segurlink.gateway.jobs import _dmp_error, business_ack_job
from segurlink.gateway.receipts import business_acks, inbound_jobs
from segurlink.mssante import ApplicationError, Receipt, ReceiptKind
from segurlink.mssante.messages import parse_message

REFERENCE = {
    "control_id": "M1",
    "producer": ["DUI", "EHPAD"],
    "processing_id": "P",
    "delivery_receipts": True,
    "read_receipts": True,
    "people": {"dr@x.mssante.fr": "810001"},
}


def dsn(action: str, **kwargs: Any) -> Receipt:
    return Receipt(ReceiptKind.DSN, "<m@x>", recipient="Dr@x.mssante.fr", action=action, **kwargs)


def test_a_delivered_dsn_is_a_z02_y_naming_the_person() -> None:
    (ack,) = business_acks(dsn("delivered"), REFERENCE)
    assert (ack.kind, ack.original_control_id, ack.success) == (
        BusinessAckKind.MSS_DELIVERY,
        "M1",
        True,
    )
    assert (ack.address, ack.person_id) == ("Dr@x.mssante.fr", "810001")
    assert business_acks(dsn("relayed"), REFERENCE)[0].success
    assert business_acks(dsn("expanded"), REFERENCE)[0].success


def test_a_failed_dsn_is_a_z02_n_with_the_smtp_code() -> None:
    (ack,) = business_acks(
        dsn("failed", status="5.2.1", diagnostic="smtp; 552 5.2.2 full"), REFERENCE
    )
    assert (ack.success, ack.error_code, ack.error_system) == (False, "552", "SMTPERRORCODE")
    (ack,) = business_acks(dsn("failed", status="5.1.1"), REFERENCE)
    assert ack.error_code == "550"


def test_a_delayed_dsn_says_nothing_yet() -> None:
    assert business_acks(dsn("delayed"), REFERENCE) == []


def test_receipts_only_when_asked() -> None:
    assert business_acks(dsn("delivered"), {**REFERENCE, "delivery_receipts": False}) == []
    mdn = Receipt(
        ReceiptKind.MDN,
        "<m@x>",
        recipient="dr@x.mssante.fr",
        disposition="automatic-action/MDN-sent-automatically; processed",
    )
    assert business_acks(mdn, {**REFERENCE, "read_receipts": False}) == []
    assert business_acks(mdn, {**REFERENCE, "control_id": ""}) == []


def test_mdns_are_z03() -> None:
    ok = Receipt(
        ReceiptKind.MDN,
        "<m@x>",
        recipient="dr@x.mssante.fr",
        disposition="automatic-action/MDN-sent-automatically; processed",
    )
    (ack,) = business_acks(ok, REFERENCE)
    assert (ack.kind, ack.success, ack.person_id) == (BusinessAckKind.MSS_READ, True, "810001")
    error = Receipt(
        ReceiptKind.MDN,
        "<m@x>",
        recipient="dpi@y.mssante.fr",
        disposition="...; processed/Error: 904^INS incohérent",
        error=ApplicationError(904, "INS incohérent"),
    )
    (ack,) = business_acks(error, REFERENCE)
    assert (ack.success, ack.error_code, ack.error_label, ack.error_system) == (
        False,
        "904",
        "INS incohérent",
        "applicationErrorCode",
    )
    ko = Receipt(
        ReceiptKind.ERROR_MAIL,
        "<m@x>",
        recipient="dpi@y.mssante.fr",
        error=ApplicationError(902, ""),
    )
    (ack,) = business_acks(ko, REFERENCE)
    assert (ack.success, ack.error_code, ack.error_label) == (
        False,
        "902",
        "Identifiant patient inconnu",
    )
    bare = Receipt(ReceiptKind.MDN, "<m@x>", recipient="a@b", disposition="manual-action; failed")
    assert business_acks(bare, REFERENCE)[0].error_code == "906"


def test_zam_jobs_are_keyed_by_message_event_recipient_and_outcome() -> None:
    ack = BusinessAck(BusinessAckKind.MSS_DELIVERY, "M1", True, "a@b")
    one = business_ack_job(ack, structure="010000016", producer=["DUI", ""], discriminator="<m@x>")
    again = business_ack_job(
        ack, structure="010000016", producer=["DUI", ""], discriminator="<m@x>"
    )
    other = business_ack_job(
        BusinessAck(BusinessAckKind.MSS_DELIVERY, "M1", False, "a@b"),
        structure="010000016",
        producer=["DUI", ""],
        discriminator="<m@x>",
    )
    assert one.key == again.key != other.key
    assert one.key.startswith("M1|Z02|") and one.ordering_key == "gateway-zam:010000016:M1"
    upper = business_ack_job(
        BusinessAck(BusinessAckKind.MSS_DELIVERY, "M1", True, "A@B"),
        structure="010000016",
        producer=["DUI", ""],
        discriminator="<m@x>",
    )
    assert upper.key == one.key  # addresses compare without case


def test_dmp_errors_in_a_z01() -> None:
    xds = XdsError(
        "refused", [XdsIssue("XDSUnknownPatientId", "Le patient 275126322074974", "Error")]
    )
    code, label, system = _dmp_error(xds, Action.INITIAL)
    assert (code, system) == ("XDSUnknownPatientId", "DMP_ERROR_CODE")
    assert "275126322074974" not in label  # masked
    fault = SoapFault("fault", code="Sender", subcode="DMPClosed")
    assert _dmp_error(fault, Action.INITIAL)[:1] == ("DMPClosed",)
    assert _dmp_error(NotFound("gone"), Action.DELETE) == (
        "900",
        _dmp_error(NotFound("x"), Action.REPLACE)[1],
        "applicationErrorCode",
    )
    assert _dmp_error(InputError("bad"), Action.INITIAL)[0] == "906"


def test_received_documents_become_inbound_jobs(mss_settings: Settings) -> None:
    from segurlink.mssante import Draft, MssClient
    from tests.dmp import factory as f

    client = MssClient.from_settings(mss_settings)
    cases: tuple[tuple[Literal["replace", "delete"] | None, Action], ...] = (
        (None, Action.INITIAL),
        ("replace", Action.REPLACE),
        ("delete", Action.DELETE),
    )
    for action, expected in cases:
        document = f.cda(seed=31)
        if action == "replace":
            from segurlink.cda import build_document

            document = build_document(f.replacement(f.make_document(seed=31), seed=32))
        outgoing = client.compose(
            Draft(
                sender="dr@hopital-test.mssante.fr",
                to=("app@segurlink-test.mssante.fr",),
                documents=(document,),
                text="Bonjour",
                action=action,
            )
        )
        message = parse_message(outgoing.data, uid=7)
        (job,) = inbound_jobs(message, structure="010000016")
        assert job.kind == "gateway.inbound" and job.payload["action"] == expected.value
        assert job.key == f"{outgoing.message_id}/1" and job.blobs == {"cda": document}
        assert job.payload["sender"] == "dr@hopital-test.mssante.fr"
        assert job.payload["body"].startswith("Bonjour")
    plain = client.compose(
        Draft(
            sender="dr@hopital-test.mssante.fr",
            to=("a@segurlink-test.mssante.fr",),
            subject="Bonjour",
            text="hi",
        )
    )
    assert inbound_jobs(parse_message(plain.data), structure="010000016") == []


# -- settings -------------------------------------------------------------------------------------


def test_gateway_settings_defaults_and_values() -> None:
    assert GatewaySettings.from_settings(Settings.from_mapping({})) == GatewaySettings()
    values = GatewaySettings.from_settings(
        Settings.from_mapping(
            {
                "gateway": {
                    "application": "PFI",
                    "workers": 4,
                    "mailbox_poll": 2,
                    "sender_profession": "60",
                }
            }
        )
    )
    assert (values.application, values.workers, values.mailbox_poll, values.sender_profession) == (
        "PFI",
        4,
        2.0,
        "60",
    )


@pytest.mark.parametrize(
    "table",
    [
        {"unknown": 1},
        {"workers": 0},
        {"workers": "many"},
        {"workers": True},
        {"mailbox_poll": 0},
        {"application": " "},
        {"sender_profession": ""},
        {"max_message_bytes": -1},
    ],
)
def test_gateway_settings_are_checked(table: dict[str, object]) -> None:
    with pytest.raises(ConfigurationError, match="gateway"):
        GatewaySettings.from_settings(Settings.from_mapping({"gateway": table}))


# -- the acknowledgements and jobs whole (issue 19: mutation testing) ----------------------------


def test_a_failed_delivery_acknowledgement_whole() -> None:
    (ack,) = business_acks(
        dsn("failed", status="5.1.1", diagnostic="smtp; 550 5.1.1 unknown user"), REFERENCE
    )
    assert ack == BusinessAck(
        BusinessAckKind.MSS_DELIVERY, "M1", False, "Dr@x.mssante.fr", "810001",
        error_code="550", error_label="Action non effectuée : boîte aux lettres non disponible",
        error_system="SMTPERRORCODE",
    )  # fmt: skip
    (unknown,) = business_acks(
        Receipt(ReceiptKind.DSN, "<m@x>", recipient="other@x.fr", action="failed"), REFERENCE
    )
    assert (unknown.person_id, unknown.error_code, unknown.error_label) == (
        "", "554", "L'envoi a échoué.",
    )  # fmt: skip


def test_read_acknowledgements_whole() -> None:
    ok = Receipt(ReceiptKind.MDN, "<m@x>", recipient="dr@x.mssante.fr", disposition="a; processed")
    assert business_acks(ok, REFERENCE) == [
        BusinessAck(BusinessAckKind.MSS_READ, "M1", True, "dr@x.mssante.fr", "810001")
    ]
    failed = Receipt(ReceiptKind.MDN, "<m@x>", recipient="a@b", disposition="a; failed")
    assert business_acks(failed, {**REFERENCE, "people": None}) == [
        BusinessAck(
            BusinessAckKind.MSS_READ, "M1", False, "a@b", "", error_code="906",
            error_label="Autre erreur", error_system="applicationErrorCode",
        )
    ]  # fmt: skip
    # a code outside the 900-906 table, without label: the code alone, for the person
    unknown = Receipt(
        ReceiptKind.MDN,
        "<m@x>",
        recipient="dr@x.mssante.fr",
        disposition="a; failed",
        error=ApplicationError(950, ""),
    )
    assert business_acks(unknown, REFERENCE) == [
        BusinessAck(
            BusinessAckKind.MSS_READ, "M1", False, "dr@x.mssante.fr", "810001", error_code="950",
            error_label="", error_system="applicationErrorCode",
        )
    ]  # fmt: skip


def test_received_documents_become_inbound_jobs_whole() -> None:
    import datetime as dt

    from segurlink.gateway.jobs import INBOUND
    from segurlink.mssante.models import (
        ReceivedMessage,
        XdmDocument,
        XdmEntry,
        XdmPackage,
    )

    def entry(n: int, mime: str = "text/xml", action: str = "") -> XdmDocument:
        xdm_entry = XdmEntry(f"Document0{n}", f"2.25.{n}", "P^^^&1.2&ISO^NH", f"DOC000{n}.XML",
                             mime_type=mime, action=action)  # fmt: skip
        return XdmDocument(xdm_entry, f"<cda {n}/>".encode())

    package = XdmPackage(
        "IHE_XDM/SUBSET01", "2.25.9", "1.2", "P^^^&1.2&ISO^NH", "20240301",
        (entry(1, mime=""), entry(2, "application/pdf"), entry(3, action=" c "), entry(4, action="D")),
    )  # fmt: skip
    message = ReceivedMessage(
        uid=7, message_id="<m1@x>", sender="dr@x.fr", recipients=("app@y.fr", "b@y.fr"),
        subject="XDM/1.0/DDM+CR", date=dt.datetime(2024, 3, 1, tzinfo=dt.UTC), text="Bonjour",
        xdm=package,
    )  # fmt: skip
    jobs = inbound_jobs(message, structure="010000016")
    common = {"message_id": "<m1@x>", "subject": "XDM/1.0/DDM+CR", "body": "Bonjour",
              "sender": "dr@x.fr", "recipients": ["app@y.fr", "b@y.fr"], "flags": {}}  # fmt: skip
    assert [(j.kind, j.structure, j.key, dict(j.payload), dict(j.blobs), j.ordering_key)
            for j in jobs] == [
        (INBOUND, "010000016", "<m1@x>/1", {"action": "initial", **common}, {"cda": b"<cda 1/>"},
         "gateway-inbound:010000016"),
        (INBOUND, "010000016", "<m1@x>/3", {"action": "replace", **common}, {"cda": b"<cda 3/>"},
         "gateway-inbound:010000016"),
        (INBOUND, "010000016", "<m1@x>/4", {"action": "delete", **common}, {"cda": b"<cda 4/>"},
         "gateway-inbound:010000016"),
    ]  # fmt: skip
