"""The MSSanté mock seen by independent clients: imaplib and smtplib, as mail clients use them."""

from __future__ import annotations

import base64
import imaplib
import smtplib
import ssl
from typing import Any

import pytest
from segurlink_mocks.mssante import APP_MAILBOX, PER_MAILBOX, REMOTE_PER_MAILBOX, MssMock

MESSAGE = (
    f"From: {REMOTE_PER_MAILBOX}\r\nTo: {PER_MAILBOX}\r\nSubject: hello\r\n"
    "Message-ID: <m1@hopital-test.mssante.fr>\r\nDate: Sat, 02 Mar 2024 09:00:00 +0000\r\n"
    "\r\nbody\r\n"
).encode()


def _context(pki: Any, client: bool = False) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=str(pki.ca))
    if client:
        identity = pki.client("mss-app")
        context.load_cert_chain(str(identity.cert), str(identity.key))
    return context


def _xoauth2(user: str, token: str) -> bytes:
    return f"user={user}\x01auth=Bearer {token}\x01\x01".encode()


def test_imap_as_a_mail_client_uses_it(mss_mock: MssMock, segurlink_pki: Any) -> None:
    mss_mock.deliver(PER_MAILBOX, MESSAGE)
    token = mss_mock.issue_token("810001234567")
    with imaplib.IMAP4("127.0.0.1", mss_mock.imap_port, timeout=5) as imap:
        assert "STARTTLS" in imap.capabilities and "LOGINDISABLED" in imap.capabilities
        assert not any(c.startswith("AUTH=") for c in imap.capabilities)  # not before TLS
        imap.starttls(ssl_context=_context(segurlink_pki))
        imap.authenticate("XOAUTH2", lambda _: _xoauth2(PER_MAILBOX, token))
        typ, folders = imap.list()
        assert typ == "OK" and any(b"INBOX" in f for f in folders)
        typ, count = imap.select("INBOX")
        assert (typ, count) == ("OK", [b"1"])
        typ, found = imap.uid("SEARCH", "ALL")
        (uid,) = found[0].split()
        typ, data = imap.uid("FETCH", uid, "(BODY.PEEK[])")
        assert data[0][1] == MESSAGE
        typ, unseen = imap.uid("SEARCH", "UNSEEN")
        assert unseen[0].split() == [uid]
        # IDLE: a delivery while idling is announced
        tag = imap._new_tag().decode()
        imap.send(f"{tag} IDLE\r\n".encode())
        assert imap.readline().startswith(b"+")
        mss_mock.deliver(PER_MAILBOX, MESSAGE.replace(b"<m1@", b"<m2@"))
        assert b"EXISTS" in imap.readline()
        imap.send(b"DONE\r\n")
        for _ in range(5):  # untagged FETCH/EXISTS updates may come first
            line = imap.readline()
            if line.startswith(tag.encode()):
                break
        assert line.startswith(tag.encode() + b" OK"), line


def test_imap_implicit_tls_and_external(mss_mock: MssMock, segurlink_pki: Any) -> None:
    mss_mock.deliver(APP_MAILBOX, MESSAGE)
    context = _context(segurlink_pki, client=True)
    with imaplib.IMAP4_SSL(
        "127.0.0.1", mss_mock.imaps_port, ssl_context=context, timeout=5
    ) as imap:
        assert "AUTH=EXTERNAL" in imap.capabilities and "STARTTLS" not in imap.capabilities
        imap.authenticate("EXTERNAL", lambda _: APP_MAILBOX.encode())
        assert imap.select("INBOX") == ("OK", [b"1"])


def test_imap_bad_token_challenge_then_authenticationfailed(
    mss_mock: MssMock, segurlink_pki: Any
) -> None:
    challenges: list[bytes] = []

    def answer(challenge: bytes) -> bytes:
        challenges.append(challenge)
        return _xoauth2(PER_MAILBOX, "bad") if len(challenges) == 1 else b""

    with imaplib.IMAP4("127.0.0.1", mss_mock.imap_port, timeout=5) as imap:
        imap.starttls(ssl_context=_context(segurlink_pki))
        with pytest.raises(imaplib.IMAP4.error, match="AUTHENTICATIONFAILED"):
            imap.authenticate("XOAUTH2", answer)
    assert challenges[1] == b'{"status": "401", "schemes": "bearer", "scope": "mail"}'


def test_smtp_auth_line_limit_and_late_refusal(mss_mock: MssMock, segurlink_pki: Any) -> None:
    long_token = mss_mock.issue_token("810001234567", length=3000)
    initial = base64.b64encode(_xoauth2(PER_MAILBOX, long_token)).decode()
    with smtplib.SMTP("127.0.0.1", mss_mock.smtp_port, timeout=5) as smtp:
        assert smtp.mail(PER_MAILBOX)[0] == 530  # STARTTLS first
        smtp.starttls(context=_context(segurlink_pki))
        smtp.ehlo()
        assert "SIZE 26214400" in smtp.ehlo_resp.decode()
        # Postfix-like: MAIL FROM accepted unauthenticated, refused at RCPT
        assert smtp.mail(PER_MAILBOX)[0] == 250
        code, reply = smtp.rcpt(REMOTE_PER_MAILBOX)
        assert (code, reply[:5]) == (554, b"5.7.1")
        smtp.rset()
        code, _ = smtp.docmd("AUTH", "XOAUTH2 " + initial)  # a 4,000-character AUTH line
        assert code == 500
        code, _ = smtp.docmd("AUTH", "XOAUTH2")
        assert code == 334
        code, reply = smtp.docmd(initial)  # the same response after the challenge works
        assert code == 235, reply


def test_control_endpoint_injects_faults_from_outside(
    mss_mock: MssMock, segurlink_pki: Any
) -> None:
    import requests

    identity = segurlink_pki.client("insi-auto").as_requests_cert()
    url = mss_mock.url + "/_mock/faults"
    response = requests.post(
        url,
        json={"fault": "tempfail", "count": 1},
        cert=identity,
        verify=str(segurlink_pki.ca),
        timeout=5,
    )
    assert response.status_code == 201
    assert mss_mock.faults == [("tempfail", 1)]
    bad = requests.post(
        url, json={"fault": "http500_html"}, cert=identity, verify=str(segurlink_pki.ca), timeout=5
    )
    assert bad.status_code == 400  # HTTP faults mean nothing to a mail server
