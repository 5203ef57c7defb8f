"""The gateway's job builders and error mappings, without network nor servers: the jobs an
accepted message becomes (DMP deposit, one mail per audience), the ZAM jobs, the VIHF
subject of a PRT sender, the ERR-5 of a failed deposit or send (issue 19: mutation
testing). The deliveries themselves run end to end in test_end_to_end.py."""

from __future__ import annotations

from segurlink.gateway.jobs import (
    SMTP_ERRORS,
    smtp_error,
)

# -- smtp_error: ERR-5 of a ZAM^Z02 ------------------------------------------------------------


def test_an_smtp_code_is_three_ascii_digits() -> None:
    # '²²²' and '٥٥٠' pass str.isdigit(); an SMTP reply code is ASCII (RFC 5321): such a
    # code is not one, the enhanced status decides
    assert smtp_error("²²²", "5.1.1") == ("550", SMTP_ERRORS["550"], "SMTPERRORCODE")
    assert smtp_error("٥٥٠", "4.2.2") == ("450", SMTP_ERRORS["450"], "SMTPERRORCODE")
    assert smtp_error("５５２") == ("554", SMTP_ERRORS["554"], "SMTPERRORCODE")
