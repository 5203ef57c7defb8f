"""segurlink's MSSanté client against the mock over TLS: auth modes, failures, receipts."""

from __future__ import annotations

import dataclasses
import logging
import time
from typing import Any

import pytest
from segurlink_mocks.mssante import (
    APP_MAILBOX,
    INTEGRATION_MAILBOX,
    ORG_MAILBOX,
    PER_MAILBOX,
    REMOTE_PER_MAILBOX,
    MssMock,
)

from segurlink.config import Settings, TlsConfig
from segurlink.errors import (
    ConfigurationError,
    MessageTooLarge,
    MssAuthenticationError,
    MssError,
    TlsError,
    TransportError,
    TransportTimeout,
)
from segurlink.mssante import Draft, MemorySentStore, MssClient, MssSettings, ReceiptKind
from tests.dmp.factory import cda, record

PAUL = "810001234567"


class Tokens:
    """An AccessTokenSource handing out a fixed token, counting calls."""

    def __init__(self, token: str) -> None:
        self.token = token
        self.calls = 0

    def access_token(self) -> str:
        self.calls += 1
        return self.token


def app_client(settings: Settings, **changes: Any) -> MssClient:
    mss = dataclasses.replace(MssSettings.from_settings(settings), **changes)
    return MssClient(mss, store=MemorySentStore())


def oauth_client(
    mock: MssMock, settings: Settings, token: str, auth: str = "XOAUTH2", **changes: Any
) -> MssClient:
    table = mock.settings_table(auth=auth)
    mss = MssSettings.from_settings(
        Settings.from_mapping(
            {
                "software": settings.to_mapping()["software"],
                "mssante": table,
                "timeouts": {"connect": 5.0, "read": 10.0},
            }
        )
    )
    return MssClient(dataclasses.replace(mss, **changes), tokens=Tokens(token))


def draft(
    sender: str = APP_MAILBOX, to: tuple[str, ...] = (REMOTE_PER_MAILBOX,), **kwargs: Any
) -> Draft:
    return Draft(sender=sender, to=to, documents=(cda(),), text="Bonjour", **kwargs)


# -- auth modes ----------------------------------------------------------------------------------


@pytest.mark.parametrize("security", ["starttls", "tls"])
def test_external_with_the_app_certificate(
    mss_mock: MssMock, mss_settings: Settings, security: str
) -> None:
    port = mss_mock.smtp_port if security == "starttls" else mss_mock.smtps_port
    imap = mss_mock.imap_port if security == "starttls" else mss_mock.imaps_port
    with app_client(
        mss_settings, smtp_security=security, smtp_port=port, imap_security=security, imap_port=imap
    ) as client:
        result = client.send(draft())
        assert result.accepted == (REMOTE_PER_MAILBOX,) and result.complete
        assert len(mss_mock.mailbox(REMOTE_PER_MAILBOX)) == 1
        (receipt,) = client.receipts()
    assert receipt.ok and receipt.original_message_id == result.message_id and receipt.known


@pytest.mark.parametrize("auth", ["XOAUTH2", "OAUTHBEARER"])
@pytest.mark.parametrize("length", [40, 5000])  # long PSC tokens go after the 334 challenge
def test_oauth_mechanisms_with_a_fresh_token(
    mss_mock: MssMock, mss_settings: Settings, auth: str, length: int
) -> None:
    token = mss_mock.issue_token(PAUL, length=length)
    with oauth_client(mss_mock, mss_settings, token, auth) as client:
        result = client.send(draft(sender=PER_MAILBOX))
        assert result.accepted == (REMOTE_PER_MAILBOX,)
        assert [r.ok for r in client.receipts()] == [True]
        assert client.tokens.calls == 2  # type: ignore[attr-defined]  # one per connection


def test_org_mailbox_opens_for_its_members(mss_mock: MssMock, mss_settings: Settings) -> None:
    token = mss_mock.issue_token("810009876543")
    with oauth_client(mss_mock, mss_settings, token, address=ORG_MAILBOX) as client:
        assert client.send(draft(sender=ORG_MAILBOX)).complete


@pytest.mark.parametrize("auth", ["XOAUTH2", "OAUTHBEARER"])
def test_bad_token_gets_the_challenge_then_535_without_hanging(
    mss_mock: MssMock, mss_settings: Settings, auth: str
) -> None:
    with oauth_client(mss_mock, mss_settings, "not-a-token", auth) as client:
        started = time.monotonic()
        with pytest.raises(MssAuthenticationError) as info:
            client.send(draft(sender=PER_MAILBOX))
        assert time.monotonic() - started < 5  # the error challenge was answered
        assert (info.value.code, info.value.enhanced_status) == (535, "5.7.8")
        assert "invalid_token" in info.value.message or "401" in info.value.message
        with pytest.raises(MssAuthenticationError):
            client.messages()  # IMAP: NO [AUTHENTICATIONFAILED] after the challenge
    assert mss_mock.mailbox(REMOTE_PER_MAILBOX) == []


def test_expired_token_and_injected_expiry(mss_mock: MssMock, mss_settings: Settings) -> None:
    token = mss_mock.issue_token(PAUL)
    mss_mock.inject("token_expired")
    with oauth_client(mss_mock, mss_settings, token) as client:
        with pytest.raises(MssAuthenticationError):
            client.send(draft(sender=PER_MAILBOX))
        assert client.send(draft(sender=PER_MAILBOX)).complete  # the fault was for one session
        mss_mock.expire_tokens()
        with pytest.raises(MssAuthenticationError):
            client.send(draft(sender=PER_MAILBOX))


def test_token_of_someone_else_and_sender_not_owned(
    mss_mock: MssMock, mss_settings: Settings
) -> None:
    nurse = mss_mock.issue_token("810009876543")
    with (
        oauth_client(mss_mock, mss_settings, nurse) as client,
        pytest.raises(MssAuthenticationError),
    ):
        client.send(draft(sender=PER_MAILBOX))
    paul = mss_mock.issue_token(PAUL)
    with oauth_client(mss_mock, mss_settings, paul) as client:
        message = client.compose(draft(sender=ORG_MAILBOX))
        with pytest.raises(MssError) as info:
            client.send(message)  # authenticated as PER_MAILBOX, MAIL FROM another mailbox
        assert (info.value.code, info.value.enhanced_status) == (553, "5.7.1")


def test_untrusted_server_certificate_is_a_tls_error(
    mss_mock: MssMock, mss_settings: Settings, segurlink_pki: Any
) -> None:
    tls = dataclasses.replace(
        MssSettings.from_settings(mss_settings).tls, ca_bundle=segurlink_pki.other_ca
    )
    with app_client(mss_settings, tls=tls) as client, pytest.raises(TlsError):
        client.send(draft())


def test_settings_never_allow_a_missing_ca(mss_settings: Settings) -> None:
    with pytest.raises(ConfigurationError, match="ca_bundle"):
        dataclasses.replace(MssSettings.from_settings(mss_settings), tls=TlsConfig())


# -- trust-space refusals ------------------------------------------------------------------------


def test_per_recipient_results_and_unknown_domain(
    mss_mock: MssMock, mss_settings: Settings
) -> None:
    to = (REMOTE_PER_MAILBOX, "someone@gmail.com", "nobody@segurlink-test.mssante.fr")
    with app_client(mss_settings) as client:
        result = client.send(draft(to=to))
    assert result.accepted == (REMOTE_PER_MAILBOX,)
    outside, unknown = result.refused
    assert (outside.address, outside.code, outside.enhanced_status) == (
        "someone@gmail.com",
        554,
        "5.7.1",
    )
    assert "trust space" in outside.text
    assert (unknown.code, unknown.enhanced_status) == (550, "5.1.1")
    assert not result.complete


def test_every_recipient_refused_raises(mss_mock: MssMock, mss_settings: Settings) -> None:
    with app_client(mss_settings) as client, pytest.raises(MssError) as info:
        client.send(draft(to=("a@example.org",)))
    assert info.value.code == 554 and len(info.value.refused) == 1


def test_injected_recipient_refusal(mss_mock: MssMock, mss_settings: Settings) -> None:
    mss_mock.inject("refused_recipient")
    with app_client(mss_settings) as client:
        result = client.send(draft(to=(REMOTE_PER_MAILBOX, INTEGRATION_MAILBOX)))
    assert [r.code for r in result.refused] == [550]
    assert result.accepted == (INTEGRATION_MAILBOX,)


def test_oversized_is_refused_before_connecting(mss_mock: MssMock, mss_settings: Settings) -> None:
    with (
        app_client(mss_settings, max_message_size=2048) as client,
        pytest.raises(MessageTooLarge) as info,
    ):
        client.send(draft())
    assert info.value.limit == 2048 and info.value.size > 2048
    assert mss_mock.request_count == 0  # nothing reached the operator


def test_operator_cap_lower_than_ours_is_552(mss_mock: MssMock, mss_settings: Settings) -> None:
    mss_mock.max_message_size = 4096  # read when a session starts
    try:
        with app_client(mss_settings) as client, pytest.raises(MssError) as info:
            client.send(draft())
    finally:
        mss_mock.max_message_size = 25 * 1024 * 1024
    assert info.value.code == 552


def test_missing_header_is_refused_at_data(mss_mock: MssMock, mss_settings: Settings) -> None:
    with app_client(mss_settings) as client:
        message = client.compose(draft())
        broken = message.data.replace(b"X-MSS-NIL:", b"X-Other:")
        with pytest.raises(MssError) as info:
            client.send(dataclasses.replace(message, data=broken))
    assert (info.value.code, info.value.enhanced_status) == (550, "5.6.0")
    assert "X-MSS-NIL" in info.value.message
    assert mss_mock.mailbox(REMOTE_PER_MAILBOX) == []


def test_wrong_subject_for_an_xdm_is_refused(mss_mock: MssMock, mss_settings: Settings) -> None:
    with app_client(mss_settings) as client:
        message = client.compose(draft())
        broken = message.data.replace(b"Subject: XDM/1.0/DDM+", b"Subject: ")
        with pytest.raises(MssError, match=r"XDM/1\.0/DDM"):
            client.send(dataclasses.replace(message, data=broken))


# -- faults --------------------------------------------------------------------------------------


def test_tempfail_is_temporary(mss_mock: MssMock, mss_settings: Settings) -> None:
    mss_mock.inject("tempfail")
    with app_client(mss_settings) as client:
        with pytest.raises(MssError) as info:
            client.send(draft())
        assert info.value.is_temporary and info.value.code == 451
        assert client.send(draft()).complete


def test_slow_server_times_out(mss_mock: MssMock, mss_settings: Settings) -> None:
    mss_mock.inject("latency:3")
    settings = MssSettings.from_settings(mss_settings)
    timeouts = dataclasses.replace(settings.timeouts, read=1.0)
    with app_client(mss_settings, timeouts=timeouts) as client:
        started = time.monotonic()
        with pytest.raises(TransportTimeout):
            client.send(draft())
        assert time.monotonic() - started < 2.5


@pytest.mark.parametrize("fault", ["drop_after_data", "reset"])
def test_connection_drops_are_transport_errors(
    mss_mock: MssMock, mss_settings: Settings, fault: str
) -> None:
    mss_mock.inject(fault)
    with app_client(mss_settings) as client, pytest.raises(TransportError):
        client.send(draft())
    assert mss_mock.mailbox(REMOTE_PER_MAILBOX) == []


# -- receipts and replies ------------------------------------------------------------------------


def test_send_mdn_status_round_trip(mss_mock: MssMock, mss_settings: Settings) -> None:
    with app_client(mss_settings) as client:
        sent = client.send(
            draft(to=(INTEGRATION_MAILBOX, REMOTE_PER_MAILBOX, "gone@hopital-test.mssante.fr"))
        )
        status = client.status(sent.message_id)
    by = status.by_recipient
    assert by[INTEGRATION_MAILBOX].kind is ReceiptKind.MDN and by[INTEGRATION_MAILBOX].ok
    assert by[REMOTE_PER_MAILBOX].ok
    gone = by["gone@hopital-test.mssante.fr"]
    assert (gone.kind, gone.action, gone.status, gone.ok) == (
        ReceiptKind.DSN,
        "failed",
        "5.1.1",
        False,
    )
    assert status.errors == (gone,)


def test_unknown_patient_gives_an_error_mdn_902(mss_mock: MssMock, mss_settings: Settings) -> None:
    mss_mock.known_patients.discard("275126322074974")
    with app_client(mss_settings) as client:
        sent = client.send(draft(to=(INTEGRATION_MAILBOX,)))
        (receipt,) = client.status(sent.message_id).receipts
        (message,) = client.messages()
    assert receipt.error is not None and receipt.error.code == 902
    assert receipt.error.label == "Identifiant de patient inconnu"
    assert not receipt.ok
    assert message.subject.startswith("[KO Intégration système !][902] XDM/1.0/DDM+")
    assert message.xdm is not None  # the original IHE_XDM.ZIP is attached again


def test_without_mdn_request_an_error_comes_as_a_ko_mail(
    mss_mock: MssMock, mss_settings: Settings
) -> None:
    mss_mock.blocked_authors.add(APP_MAILBOX)
    with app_client(mss_settings) as client:
        sent = client.send(draft(to=(INTEGRATION_MAILBOX,), receipt=False))
        (receipt,) = client.status(sent.message_id).receipts
    assert receipt.kind is ReceiptKind.ERROR_MAIL and receipt.error is not None
    assert receipt.error.code == 901


def test_replacement_of_an_unknown_version_is_900(
    mss_mock: MssMock, mss_settings: Settings
) -> None:
    from segurlink.cda import build_document
    from tests.dmp.factory import make_document, replacement

    v2 = build_document(replacement(make_document(seed=7), seed=8))
    with app_client(mss_settings) as client:
        sent = client.send(
            Draft(sender=APP_MAILBOX, to=(INTEGRATION_MAILBOX,), documents=(v2,), action="replace")
        )
        (receipt,) = client.status(sent.message_id).receipts
    assert receipt.error is not None and receipt.error.code == 900


def test_a_patient_receives_and_a_closed_mailbox_bounces(
    mss_mock: MssMock, mss_settings: Settings
) -> None:
    with app_client(mss_settings) as client:
        sent = client.send(draft(to=(), patient=record(), patient_may_reply=False))
        assert sent.accepted == ("275126322074974@patient.mssante.fr",)
        assert len(mss_mock.mailbox("275126322074974@patient.mssante.fr")) == 1
        (receipt,) = client.status(sent.message_id).receipts
        assert receipt.ok
        mss_mock.deliver  # noqa: B018 - the mock API used below
    raw = mss_mock.mailbox("275126322074974@patient.mssante.fr")[0]
    assert b"X-MSS-MES: FIN" in raw


def test_replies_are_threaded_to_the_original(mss_mock: MssMock, mss_settings: Settings) -> None:
    with app_client(mss_settings) as dui:
        sent = dui.send(draft(to=(PER_MAILBOX,)))
        token = mss_mock.issue_token(PAUL)
        with oauth_client(mss_mock, mss_settings, token) as doctor:
            (received,) = [m for m in doctor.messages() if m.receipt is None]
            assert received.message_id == sent.message_id
            assert received.xdm is not None and received.documents[0].content == cda()
            reply = doctor.send(
                Draft(
                    sender=PER_MAILBOX,
                    to=(APP_MAILBOX,),
                    text="Bien reçu",
                    subject="Re: document",
                    in_reply_to=received.message_id,
                )
            )
        (answer,) = dui.replies(sent.message_id)
    assert answer.message_id == reply.message_id and answer.text.strip() == "Bien reçu"


def test_health_data_never_in_logs_at_debug(
    mss_mock: MssMock, mss_settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    for name in ("mail.log", "pymap", "segurlink", "segurlink_mocks"):
        logging.getLogger(name)  # created, so their level applies
    with app_client(mss_settings) as client:
        sent = client.send(draft(to=(INTEGRATION_MAILBOX,), patient=record()))
        client.messages()
        client.status(sent.message_id)
    text = "\n".join(r.getMessage() for r in caplog.records)
    assert caplog.records, "nothing was logged at all"
    for secret in ("275126322074974", "ADRUN", "ZOE", "1975", "31/12", "Bonjour", "PDF-1.4"):
        assert secret not in text, secret
