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
