from __future__ import annotations

import logging

import pytest

from segurlink._audit import ExchangeLog, mask_identifier, mask_xml


def test_mask_identifier() -> None:
    assert mask_identifier("275126322074974") == "27***********74"
    assert mask_identifier("abc") == "***"


def test_mask_xml_hides_health_data_even_in_broken_xml() -> None:
    body = (
        b"<r><NomNaissance>ADRUN</NomNaissance><ns:Prenom a='1'>ZOE</ns:Prenom>"
        b"<DateNaissance>1975-12-31</DateNaissance><NumIdentifiant>2751263220749</NumIdentifiant>"
        b"<CodeCR>00</CodeCR><note>INS 275126322074974</note><ListePrenom>ZO"
    )
    text = mask_xml(body)
    for secret in ("ADRUN", "ZOE<", "1975-12-31", "2751263220749", "275126322074974"):
        assert secret not in text
    assert "<CodeCR>00</CodeCR>" in text


def test_info_log_has_no_health_data_and_debug_is_masked(caplog: pytest.LogCaptureFixture) -> None:
    log = ExchangeLog()
    with caplog.at_level(logging.DEBUG, logger="segurlink.exchange"):
        with log.exchange("insi", "search", url="https://x/lps") as record:
            record.message_id = "uuid:1"
            record.outcome = "00"
            log.body(record, "response", b"<NomNaissance>ADRUN</NomNaissance>")
    assert "ADRUN" not in caplog.text
    info = [r for r in caplog.records if r.levelno == logging.INFO]
    assert len(info) == 1 and "outcome=00" in info[0].getMessage()


def test_reveal_is_an_explicit_opt_in(caplog: pytest.LogCaptureFixture) -> None:
    log = ExchangeLog(reveal_health_data=True)
    with caplog.at_level(logging.DEBUG, logger="segurlink.exchange"):
        with log.exchange("insi", "search") as record:
            log.body(record, "response", b"<NomNaissance>ADRUN</NomNaissance>")
    assert "ADRUN" in caplog.text


def test_failed_exchange_records_the_error_type(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="segurlink.exchange"):
        with pytest.raises(ValueError):
            with ExchangeLog().exchange("insi", "search"):
                raise ValueError("boom")
    assert "error=ValueError" in caplog.text


@pytest.mark.parametrize(
    ("body", "secret"),
    [
        (b"<TIQ><ListePrenom>ZOE BELLA", b"BELLA"),  # answer cut inside a value
        (b"<r><NomNaissance><![CDATA[ADRUN]]></NomNaissance></r>", b"ADRUN"),
        (b"<patient><birthTime value='19751231'/></patient>", b"19751231"),
        (b'<birthTime value="1975', b"1975"),
        (b"<r>" + b"x" * 8170 + b"<NomNaissance>ADRUNLONG</NomNaissance>", b"ADRUN"),
    ],
)
def test_mask_xml_hides_values_in_every_shape(body: bytes, secret: bytes) -> None:
    assert secret.decode() not in mask_xml(body)


def test_mask_xml_keeps_namespaces_and_non_sensitive_values() -> None:
    text = mask_xml(b'<ns:Prenom xmlns:ns="urn:x">ZOE</ns:Prenom><CodeCR>00</CodeCR>')
    assert 'xmlns:ns="urn:x"' in text and "<CodeCR>00</CodeCR>" in text and "ZOE" not in text


# -- documents never, third-party loggers filtered (issue 10 item 9) ---------------------------

PDF = b"%PDF-1.4\n1 0 obj<</Type/Catalog>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"


def _mtom(document: bytes) -> tuple[bytes, str]:
    root = (
        b"<soap:Envelope><soap:Body><RetrieveDocumentSetResponse><Document>"
        b'<xop:Include href="cid:doc1"/></Document></RetrieveDocumentSetResponse>'
        b"</soap:Body></soap:Envelope>"
    )
    body = (
        b'--MIMEb\r\nContent-Type: application/xop+xml; type="application/soap+xml"\r\n'
        b"Content-ID: <root>\r\n\r\n" + root + b"\r\n--MIMEb\r\nContent-Type: text/xml\r\n"
        b"Content-ID: <doc1>\r\n\r\n" + document + b"\r\n--MIMEb--\r\n"
    )
    return body, 'multipart/related; boundary="MIMEb"; type="application/xop+xml"'


def test_an_mtom_body_shows_its_envelope_and_only_the_size_of_its_documents() -> None:
    import base64

    from segurlink._audit import mask_body

    cda = (
        b"<ClinicalDocument><patient><birthplace><place><addr><county>63220</county></addr>"
        b"</place></birthplace></patient><text>" + base64.b64encode(PDF * 4) + b"</text>"
        b"</ClinicalDocument>"
    )
    body, content_type = _mtom(cda)
    for reveal in (False, True):
        text = mask_body(body, content_type, reveal=reveal)
        assert "RetrieveDocumentSetResponse" in text
        assert f"[part <doc1>: text/xml, {len(cda)} bytes withheld]" in text
        for secret in ("ClinicalDocument", "63220", "JVBER", "%PDF"):
            assert secret not in text


def test_base64_documents_and_raw_pdfs_become_size_markers() -> None:
    import base64

    from segurlink._audit import mask_body, mask_xml

    inline = b"<Document>" + base64.b64encode(PDF * 4) + b"</Document>"
    assert "JVBER" not in mask_xml(inline) and "[base64: " in mask_xml(inline)
    assert "JVBER" not in mask_body(inline, reveal=True)
    assert mask_body(b"%PDF-1.4 binary", reveal=True) == "[PDF: 15 bytes withheld]"
    # Short base64 values (digests, ids) are kept: they are not documents.
    assert "q83vEjRWeJA=" in mask_xml(b"<DigestValue>q83vEjRWeJA=</DigestValue>")
    # The CDA's birth place and address are masked like the other traits.
    assert "63220" not in mask_xml(b"<addr><county>63220</county><city>Paris</city></addr>")


@pytest.mark.parametrize(
    ("logger_name", "message", "kept"),
    [
        ("signxml.processor", "Canonicalized string: <a>275126322074974 ADRUN</a>", "withheld"),
        ("zeep.transports", "HTTP Post to x:\n<NomNaissance>ADRUN</NomNaissance>", "withheld"),
        ("authlib.integrations.base_client.sync_app", "Using code_verifier: 'ADRUN'", "withheld"),
        ("urllib3.connectionpool", '"GET /x?name=ADRUN&ins=275126322074974 HTTP/1.1"', "/x?"),
        ("werkzeug", '127.0.0.1 "GET /p?family=ADRUN HTTP/1.1" 200', "GET /p"),
        ("charset_normalizer", "<NomNaissance>ADRUN</NomNaissance>", "NomNaissance"),
    ],
)
def test_third_party_records_are_withheld_or_masked(
    caplog: pytest.LogCaptureFixture, logger_name: str, message: str, kept: str
) -> None:
    from segurlink._audit import protect_third_party_loggers

    protect_third_party_loggers()
    # The logger's own level too: werkzeug sets its logger to INFO once it has served.
    with caplog.at_level(logging.DEBUG), caplog.at_level(logging.DEBUG, logger=logger_name):
        logging.getLogger(logger_name).debug("%s", message)
    (record,) = [r for r in caplog.records if r.name == logger_name]
    text = record.getMessage()
    assert "ADRUN" not in text and "275126322074974" not in text and kept in text


def test_protection_is_idempotent_and_keeps_the_previous_record_factory() -> None:
    from segurlink._audit import _PrivateRecordFactory, protect_third_party_loggers

    protect_third_party_loggers()
    factory = logging.getLogRecordFactory()
    protect_third_party_loggers()
    assert logging.getLogRecordFactory() is factory
    assert isinstance(factory, _PrivateRecordFactory)
    assert not isinstance(factory.previous, _PrivateRecordFactory)
    # segurlink's own records and an application's are untouched.
    record = factory("app.module", logging.DEBUG, "", 0, "ADRUN %s", ("x",), None)
    assert record.getMessage() == "ADRUN x"
