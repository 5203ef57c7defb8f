"""The MSSanté values' own rules: what a receipt says, an application error read from its
text, the receipts of a message per recipient, and what each repr shows (never the
patient: no INS, no address list, no document bytes)."""

from __future__ import annotations

import datetime as dt

import pytest

from segurlink.errors import InputError, RecipientRefusal
from segurlink.mssante.models import (
    APPLICATION_ERRORS,
    ApplicationError,
    Attachment,
    DeliveryStatus,
    Draft,
    OutgoingMessage,
    Receipt,
    ReceiptKind,
    ReceivedMessage,
    SendResult,
    XdmDocument,
    XdmEntry,
    XdmPackage,
)

INS = "275126322074974"

# -- application errors ---------------------------------------------------------------------


def test_an_application_error_is_read_whole() -> None:
    error = ApplicationError.parse(
        " 902^Identifiant de patient inconnu^messageErrorCondition| E^Error^errorSeverity "
    )
    assert error == ApplicationError(
        902, "Identifiant de patient inconnu", "messageErrorCondition| E^Error^errorSeverity"
    )
    assert error.known


def test_an_application_error_without_label_takes_the_catalogue_s() -> None:
    assert ApplicationError.parse("904") == ApplicationError(904, APPLICATION_ERRORS[904], "")
    assert ApplicationError.parse("906^ ^detail") == ApplicationError(
        906, APPLICATION_ERRORS[906], "detail"
    )
    unknown = ApplicationError.parse("42^")
    assert (unknown.code, unknown.label, unknown.known) == (42, "", False)


@pytest.mark.parametrize("text", ["", "^label", "90x^label", "٩٠٤^label", "９０４", "-904"])
def test_text_without_an_ascii_code_is_not_an_application_error(text: str) -> None:
    with pytest.raises(InputError) as info:
        ApplicationError.parse(text)
    assert str(info.value) == f"not an MSSanté application error: {text[:40]!r}"


def test_only_the_start_of_a_long_text_is_quoted() -> None:
    text = "x" * 100
    with pytest.raises(InputError) as info:
        ApplicationError.parse(text)
    assert str(info.value) == f"not an MSSanté application error: {'x' * 40!r}"


# -- receipts ------------------------------------------------------------------------------


def _mdn(disposition: str, error: ApplicationError | None = None) -> Receipt:
    return Receipt(ReceiptKind.MDN, "<m@x>", "a@x.fr", disposition=disposition, error=error)


@pytest.mark.parametrize(
    ("disposition", "ok"),
    [
        ("automatic-action/MDN-sent-automatically; processed", True),
        ("manual-action/MDN-sent-manually; displayed", True),
        ("automatic-action/MDN-sent-automatically; dispatched", True),
        ("automatic-action/MDN-sent-automatically; Processed", True),
        ("processed", True),
        ("automatic-action/MDN-sent-automatically; processed/error", False),
        ("automatic-action/MDN-sent-automatically; deleted", False),
        ("automatic-action/MDN-sent-automatically; failed", False),
        ("processed; deleted", False),  # the last disposition counts
        ("", False),
    ],
)
def test_an_mdn_is_positive_when_processed_displayed_or_dispatched(
    disposition: str, ok: bool
) -> None:
    assert _mdn(disposition).ok is ok


def test_an_mdn_carrying_an_application_error_is_negative() -> None:
    error = ApplicationError(902, APPLICATION_ERRORS[902])
    assert not _mdn("automatic-action/MDN-sent-automatically; processed", error).ok


@pytest.mark.parametrize(
    ("action", "ok"),
    [("delivered", True), ("relayed", True), ("expanded", True), ("failed", False),
     ("delayed", False), ("", False)],
)  # fmt: skip
def test_a_dsn_is_positive_when_delivered_relayed_or_expanded(action: str, ok: bool) -> None:
    assert Receipt(ReceiptKind.DSN, "<m@x>", "a@x.fr", action=action).ok is ok


def test_an_error_mail_is_always_negative() -> None:
    assert not Receipt(ReceiptKind.ERROR_MAIL, "<m@x>", disposition="processed").ok


def test_the_latest_receipt_of_each_recipient_and_the_negative_ones() -> None:
    delayed = Receipt(ReceiptKind.DSN, "<m@x>", "A@x.fr", action="delayed")
    delivered = Receipt(ReceiptKind.DSN, "<m@x>", "a@X.fr", action="delivered")
    refused = Receipt(ReceiptKind.DSN, "<m@x>", "b@x.fr", action="failed", status="5.1.1")
    status = DeliveryStatus("<m@x>", (delayed, refused, delivered))
    assert status.by_recipient == {"a@x.fr": delivered, "b@x.fr": refused}
    assert status.errors == (delayed, refused)
    assert DeliveryStatus("<m@x>", ()).by_recipient == {}


def test_a_send_is_complete_when_no_recipient_was_refused() -> None:
    assert SendResult("<m@x>", ("a@x.fr",)).complete
    refusal = RecipientRefusal("b@x.fr", 550, "5.1.1 unknown")
    assert not SendResult("<m@x>", ("a@x.fr",), (refusal,)).complete


# -- what the values show ---------------------------------------------------------------------


def _entry() -> XdmEntry:
    return XdmEntry("DOC01", "1.2.3.4", f"{INS}^^^&1.2.250.1.213.1.4.8&ISO", "DOC0001.XML", size=12)


def _package() -> XdmPackage:
    document = XdmDocument(_entry(), b"<ClinicalDocument/>")
    return XdmPackage(
        "SUBSET01", "1.2.3", "1.2.250", f"{INS}^^^&1.2.250.1.213.1.4.8&ISO", "20260101", (document,)
    )


def test_the_reprs_show_counts_and_sizes_never_contents() -> None:
    assert repr(Attachment("cr.pdf", b"%PDF-1.4 secret", "application/pdf")) == (
        "Attachment(<15 bytes>, media_type='application/pdf')"
    )
    draft = Draft(sender="s@x.fr", to=("a@x.fr", "b@x.fr"), documents=(b"<cda/>",), text=INS)
    assert repr(draft) == "Draft(to=<2>, documents=<1>, action=None, receipt=True)"
    message = OutgoingMessage("<m@x>", "s@x.fr", (f"{INS}@patient.mssante.fr",), b"x" * 42)
    assert (message.size, repr(message)) == (
        42,
        "OutgoingMessage('<m@x>', recipients=<1>, size=42)",
    )
    assert repr(_entry()) == "XdmEntry('DOC01', uri='DOC0001.XML', size=12)"
    assert repr(_package().documents[0]) == (
        "XdmDocument(XdmEntry('DOC01', uri='DOC0001.XML', size=12), <19 bytes>)"
    )


def test_a_package_gives_its_ins_and_masks_it_in_its_repr() -> None:
    package = _package()
    assert package.ins == INS
    assert (
        repr(package) == "XdmPackage(subset='SUBSET01', patient='27***********74', documents=<1>)"
    )
    assert INS not in repr(package)


def test_a_received_message_threads_and_lists_its_documents() -> None:
    message = ReceivedMessage(
        uid=7,
        message_id="<r@x>",
        sender="a@x.fr",
        recipients=("s@x.fr",),
        subject=f"XDM/1.0/DDM+CR {INS}",
        date=dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
        in_reply_to="<m1@x>",
        references=("<m0@x>", "<m1@x>"),
        xdm=_package(),
    )
    assert message.replies_to("<m1@x>") and message.replies_to("<m0@x>")
    assert not message.replies_to("<m2@x>")
    assert message.documents == _package().documents
    assert (
        repr(message) == "ReceivedMessage(uid=7, message_id='<r@x>', documents=<1>, receipt=False)"
    )
    bare = ReceivedMessage(8, "<s@x>", "a@x.fr", (), "", None, receipt=_mdn("processed"))
    assert bare.documents == ()
    assert repr(bare) == "ReceivedMessage(uid=8, message_id='<s@x>', documents=<0>, receipt=True)"
