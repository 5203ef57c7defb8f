"""Delivery notifications on request (RFC 3461 NOTIFY), Reply-To and caller-chosen
Message-IDs, against the mock; read back with the standard library's email parser."""

from __future__ import annotations

import email
import smtplib
import ssl
from email import policy

import pytest
from segurlink_mocks.mssante import APP_MAILBOX, PER_MAILBOX, REMOTE_PER_MAILBOX, MssMock

from segurlink.config import Settings
from segurlink.errors import InputError
from segurlink.mssante import Draft, MssClient, ReceiptKind
from segurlink.mssante.client import _notify_option
from tests.dmp.factory import cda

UNKNOWN = "nobody@segurlink-test.mssante.fr"


def _dsns(mock: MssMock) -> list[email.message.Message]:
    found: list[email.message.Message] = []
    for raw in mock.mailbox(APP_MAILBOX):
        message = email.message_from_bytes(raw, policy=policy.default)
        if message.get_param("report-type") == "delivery-status":
            found.append(message)
    return found


def _actions(message: email.message.Message) -> list[str]:
    text = message.as_string()
    return [
        line.split(":", 1)[1].strip() for line in text.splitlines() if line.startswith("Action:")
    ]


def test_the_mock_offers_dsn_and_refuses_a_bad_notify(mss_mock: MssMock) -> None:
    context = ssl.create_default_context(cafile=str(mss_mock.pki.ca))
    with smtplib.SMTP("127.0.0.1", mss_mock.smtp_port, timeout=5) as smtp:
        smtp.starttls(context=context)
        smtp.ehlo()
        assert smtp.has_extn("dsn")


def test_notify_success_gives_a_delivered_dsn_per_recipient(
    mss_mock: MssMock, mss_settings: Settings
) -> None:
    with MssClient.from_settings(mss_settings) as mss:
        sent = mss.send(
            Draft(sender=APP_MAILBOX, to=(PER_MAILBOX, REMOTE_PER_MAILBOX), documents=(cda(),)),
            notify=("SUCCESS", "FAILURE"),
        )
        receipts = [r for r in mss.receipts() if r.kind is ReceiptKind.DSN]
    (dsn,) = _dsns(mss_mock)
    assert _actions(dsn) == ["delivered", "delivered"]
    assert {r.recipient for r in receipts} == {PER_MAILBOX, REMOTE_PER_MAILBOX}
    assert all(r.ok and r.original_message_id == sent.message_id for r in receipts)


def test_without_notify_only_failures_are_reported(
    mss_mock: MssMock, mss_settings: Settings
) -> None:
    remote_unknown = "nobody@hopital-test.mssante.fr"  # accepted at RCPT, bounced later
    with MssClient.from_settings(mss_settings) as mss:
        mss.send(Draft(sender=APP_MAILBOX, to=(PER_MAILBOX, remote_unknown), documents=(cda(),)))
        receipts = [r for r in mss.receipts() if r.kind is ReceiptKind.DSN]
    assert [(r.recipient, r.action, r.ok) for r in receipts] == [(remote_unknown, "failed", False)]


def test_notify_never_silences_failures(mss_mock: MssMock, mss_settings: Settings) -> None:
    with MssClient.from_settings(mss_settings) as mss:
        mss.send(
            Draft(sender=APP_MAILBOX, to=("nobody@hopital-test.mssante.fr",), documents=(cda(),)),
            notify=("NEVER",),
        )
    assert _dsns(mss_mock) == []


@pytest.mark.parametrize("bad", [("SOMETIMES",), ("NEVER", "SUCCESS")])
def test_notify_values_are_checked(bad: tuple[str, ...]) -> None:
    with pytest.raises(InputError, match="notify takes"):
        _notify_option(bad)


def test_notify_option_text() -> None:
    assert _notify_option(["success", "FAILURE", "success"]) == "NOTIFY=SUCCESS,FAILURE"
    assert _notify_option([]) == ""


def test_reply_to_and_a_given_message_id(mss_mock: MssMock, mss_settings: Settings) -> None:
    with MssClient.from_settings(mss_settings) as mss:
        sent = mss.send(
            Draft(
                sender=APP_MAILBOX,
                to=(PER_MAILBOX,),
                documents=(cda(),),
                reply_to=REMOTE_PER_MAILBOX,
                message_id="<abc.123@segurlink-test.mssante.fr>",
            )
        )
    assert sent.message_id == "<abc.123@segurlink-test.mssante.fr>"
    (raw,) = mss_mock.mailbox(PER_MAILBOX)
    received = email.message_from_bytes(raw, policy=policy.default)
    assert received["Message-ID"] == "<abc.123@segurlink-test.mssante.fr>"
    assert received["Reply-To"] == REMOTE_PER_MAILBOX


@pytest.mark.parametrize("bad", ["no-brackets-no-at", "<a(b)@c.fr>", "<x@>"])
def test_a_given_message_id_is_checked(mss_settings: Settings, bad: str) -> None:
    mss = MssClient.from_settings(mss_settings)
    with pytest.raises(InputError, match="Message-ID"):
        mss.compose(Draft(sender=APP_MAILBOX, to=(PER_MAILBOX,), text="x", message_id=bad))


def test_reply_to_must_be_an_address(mss_settings: Settings) -> None:
    mss = MssClient.from_settings(mss_settings)
    with pytest.raises(InputError, match="Reply-To"):
        mss.compose(Draft(sender=APP_MAILBOX, to=(PER_MAILBOX,), text="x", reply_to="nope"))
