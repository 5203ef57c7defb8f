"""PAM FR messages field by field, and every refusal with what it says and where.

test_messages.py follows the features (encodings, escapes, updates, round trips); here the
header, identifiers, ACK segments and each Hl7Error are held whole: message, segment,
field, component and the HL7 table 0357 code an acknowledgement carries.
"""

from __future__ import annotations

import dataclasses
import datetime

import pytest

from segurlink.errors import Hl7Error
from segurlink.hl7 import (
    AckCode,
    AckError,
    IdentityUpdate,
    MessageHeader,
    build_ack,
    build_identity_update,
    parse_ack,
    parse_header,
    parse_message,
)
from segurlink.hl7.messages import (
    decode_message,
    escape_value,
    field_repetitions,
    field_value,
    parse_tree,
    unescape_value,
)
from segurlink.identity import IdentityStatus, IdentityTraits, Ins
from tests.hl7.conftest import adt

NOW = datetime.datetime(2024, 5, 1, 10, 30, 0)
MSH = "MSH|^~\\&|A|B|C|D|2024||ADT^A31^ADT_A05|1|P|2.5"
SUPPORTED = (
    "'ASCII', 'UNICODE UTF-8', '8859/1', '8859/2', '8859/3', '8859/4', '8859/5', '8859/6', "
    "'8859/7', '8859/8', '8859/9', '8859/15'"
)


def test_the_header_whole() -> None:
    header = parse_message(adt()).header
    assert dataclasses.replace(header, msh="") == MessageHeader(
        message_type="ADT",
        event="A31",
        structure="ADT_A05",
        control_id="MSG0001",
        sending_application="GAM",
        sending_facility="CHU-X",
        receiving_application="DUI",
        receiving_facility="CHU-X",
        timestamp="20240306111154",
        processing_id="P",
        version="2.5",
        charset="UNICODE UTF-8",
    )
    assert header.msh == adt().split("\r", 1)[0]
    assert parse_header(adt().encode()) == header


def test_the_identifiers_whole() -> None:
    identifiers = parse_message(adt(ins="275126322074974")).identity.identifiers
    assert [(i.value, i.namespace, i.oid, i.oid_type, i.type_code, i.effective_date)
            for i in identifiers] == [
        ("LOC123", "CHU-X", "1.2.250.1.999.1", "ISO", "PI", ""),
        ("275126322074974", "ASIP-SANTE-INS-NIR", "1.2.250.1.213.1.4.8", "ISO", "INS",
         "20101207"),
    ]  # fmt: skip


def test_an_empty_repetition_of_pid_3_is_no_identifier() -> None:
    text = adt().replace("LOC123^^^CHU-X&1.2.250.1.999.1&ISO^PI", "~LOC123^^^CHU-X^PI~^^^^PN")
    identifiers = parse_message(text).identity.identifiers
    assert [(i.value, i.type_code) for i in identifiers] == [("LOC123", "PI"), ("", "PN")]


def test_the_first_legal_name_and_the_first_used_name_are_read() -> None:
    names = "ADRUN^ZOE^ZOE^^^^L~AUTRE^ANNE^^^^^L~MARTIN^ZOE^^^^^D~DURAND^LEA^^^^^D"
    text = adt().replace("ADRUN^ZOE^ZOE^^^^L", names)
    identity = parse_message(text).identity
    assert (identity.birth_name, identity.first_names) == ("ADRUN", ("ZOE",))
    assert (identity.used_name, identity.used_first_name) == ("MARTIN", "ZOE")


def test_the_birth_place_is_the_bdl_address_only() -> None:
    assert parse_message(adt(cog="2A004")).identity.birth_place == "2A004"
    assert parse_message(adt(cog=None)).identity.birth_place is None
    # an address of another type holding a code in XAD.9 is not the birth place
    text = adt(cog=None).replace("^^PARIS^^75001^FRA^H", "^^PARIS^^75001^FRA^H^^75056")
    assert parse_message(text).identity.birth_place is None


def test_names_a_pid_5_does_not_give_are_none_or_empty() -> None:
    legal_only = parse_message(adt()).identity
    assert (legal_only.used_name, legal_only.used_first_name) == (None, None)
    used_only = parse_message(adt().replace("ADRUN^ZOE^ZOE^^^^L", "MARTIN^LEA^^^^^D")).identity
    assert (used_only.birth_name, used_only.first_names) == (None, ())
    assert (used_only.used_name, used_only.used_first_name) == ("MARTIN", "LEA")


def test_a_merge_reads_the_prior_identifiers_of_mrg_1() -> None:
    text = adt(event="A40", extra_segments="MRG|OLD42^^^CHU-X&1.2.250.1.999.1&ISO^PI")
    (prior,) = parse_message(text).prior_identifiers
    assert (prior.value, prior.namespace, prior.oid, prior.type_code) == (
        "OLD42",
        "CHU-X",
        "1.2.250.1.999.1",
        "PI",
    )


# -- refusals ------------------------------------------------------------------------------------


def _latin1(text: str) -> bytes:
    return text.encode("latin-1")


REFUSALS: dict[str, tuple[object, tuple[str, str, int | None, int | None, str]]] = {
    "not bytes": (42, ("an HL7 message is bytes or text", "MSH", None, None, "100")),
    "no MSH": ("PID|1||X", ("the message does not start with an MSH segment", "MSH", None, None, "100")),
    "blank": (b"  \r\n", ("the message does not start with an MSH segment", "MSH", None, None, "100")),
    "batch only": ("FHS|^~\\&\rBHS|^~\\&", ("the message does not start with an MSH segment", "MSH", None, None, "100")),
    "too short": ("MSH|^~", ("MSH is too short to hold its delimiters", "MSH", 2, None, "102")),
    "7 characters": ("MSH|^~\\", ("MSH is too short to hold its delimiters", "MSH", 2, None, "102")),
    "repeated delimiter": ("MSH|^^\\&|A", ("MSH-1/MSH-2 do not hold a field separator and 4 distinct encoding characters", "MSH", 2, None, "102")),
    "no field after MSH-2": ("MSH|^~\\&", ("MSH-1/MSH-2 do not hold a field separator and 4 distinct encoding characters", "MSH", 2, None, "102")),
    "MSH-2 not closed": ("MSH|^~\\&#", ("MSH-1/MSH-2 do not hold a field separator and 4 distinct encoding characters", "MSH", 2, None, "102")),
    "6 encoding characters": ("MSH|^~\\&#!|A|B", ("MSH-1/MSH-2 do not hold a field separator and 4 distinct encoding characters", "MSH", 2, None, "102")),
    "charset": (_latin1(MSH + "|||||FRA|KOI8-R\rPID|1"), (f"MSH-18 declares the character set 'KOI8-R', which segurlink does not read; supported: {SUPPORTED}", "MSH", 18, None, "103")),
    "long charset": (_latin1(MSH + "|||||FRA|" + "X" * 30 + "\rPID|1"), (f"MSH-18 declares the character set {'X' * 20!r}, which segurlink does not read; supported: {SUPPORTED}", "MSH", 18, None, "103")),
    "bad utf-8": (_latin1(MSH + "|||||FRA|UNICODE UTF-8\rPID|1||X||D\xe9^Z"), ("the bytes at offset 80 are not valid for MSH-18 UNICODE UTF-8", "MSH", 18, None, "102")),
    "undeclared": (_latin1(MSH + "\rPID|1||X||D\xe9^Z"), ("the bytes at offset 58 are not valid for MSH-18 no character set (read as UTF-8)", "MSH", 18, None, "102")),
    "no MSH-9": ("MSH|^~\\&|A|B|C|D|2024|||1|P|2.5\rPID|1", ("MSH-9 (message type) is empty", "MSH", 9, None, "101")),
    "no MSH-10": ("MSH|^~\\&|A|B|C|D|2024||ADT^A31|", ("MSH-10 (message control id) is empty", "MSH", 10, None, "101")),
    "ORU": ("MSH|^~\\&|A|B|C|D|2024||ORU^R01|1|P|2.5\rPID|1", ("MSH-9 is a ORU message, not ADT", "MSH", 9, None, "200")),
    "no PID": (MSH + "\rEVN|", ("the message has no PID segment", "PID", None, None, "100")),
    "segment id": (MSH + "\rpid|1", ("segment 2 does not start with a segment ID (3 upper-case letters or digits) followed by the field separator", "", None, None, "100")),
    "segment separator": (MSH + "\rEVN|\rPID1||X", ("segment 3 does not start with a segment ID (3 upper-case letters or digits) followed by the field separator", "", None, None, "100")),
    "segment id of 4 characters": (MSH + "\rPID1", ("segment 2 does not start with a segment ID (3 upper-case letters or digits) followed by the field separator", "", None, None, "100")),
    "MLLP start byte": (b"\x0b" + adt().encode(), ("the message does not start with an MSH segment", "MSH", None, None, "100")),
    "a letter before MSH": (b"X" + adt().encode(), ("the message does not start with an MSH segment", "MSH", None, None, "100")),
    "PID-7 form": (adt(birth_date="1975-12-31"), ("PID-7 is not a date (YYYY[MM[DD]])", "PID", 7, None, "102")),
    "PID-7 month 13": (adt(birth_date="19751301"), ("PID-7 is not a date (YYYY[MM[DD]])", "PID", 7, None, "102")),
    "PID-7 day 32": (adt(birth_date="19751232"), ("PID-7 is not a date (YYYY[MM[DD]])", "PID", 7, None, "102")),
    "PID-7 day without month": (adt(birth_date="19750012"), ("PID-7 is not a date (YYYY[MM[DD]])", "PID", 7, None, "102")),
    "PID-7 calendar": (adt(birth_date="19750231"), ("PID-7 is not a calendar date", "PID", 7, None, "102")),
    "INS of 14": (adt(ins="27512632207497"), ("PID-3 repetition 2 is an INS segurlink cannot read: an INS key is exactly 2 digits, given 1 characters", "PID", 3, 1, "102")),
    "INS CX.7": (adt(ins="275126322074974").replace("^INS^^20101207", "^INS^^20101307"), ("PID-3 repetition 2: CX.7 is not a date (YYYYMMDD)", "PID", 3, 7, "102")),
    "INS CX.7 month only": (adt(ins="275126322074974").replace("^INS^^20101207", "^INS^^201012"), ("PID-3 repetition 2: CX.7 is not a date (YYYYMMDD)", "PID", 3, 7, "102")),
    "two messages": (adt() + adt(), ("the input holds 2 messages; give one message at a time", "MSH", None, None, "100")),
}  # fmt: skip


@pytest.mark.parametrize("case", list(REFUSALS))
def test_each_refusal_says_what_and_where(case: str) -> None:
    data, expected = REFUSALS[case]
    with pytest.raises(Hl7Error) as info:
        parse_message(data)  # type: ignore[arg-type]
    error = info.value
    assert (str(error), error.segment, error.field, error.component, error.code) == expected


def test_partial_birth_dates_and_an_ins_first_in_pid_3() -> None:
    assert parse_message(adt(birth_date="197512")).identity.birth_date == "1975-12-00"
    assert parse_message(adt(birth_date="1975")).identity.birth_date == "1975-00-00"
    text = adt(ins="275126322074974")
    first = text.replace(
        "LOC123^^^CHU-X&1.2.250.1.999.1&ISO^PI~275126322074974^^^ASIP-SANTE-INS-NIR&"
        "1.2.250.1.213.1.4.8&ISO^INS^^20101207",
        "27512632207497^^^ASIP-SANTE-INS-NIR&1.2.250.1.213.1.4.8&ISO^INS~LOC123^^^CHU-X^PI",
    )
    with pytest.raises(Hl7Error, match=r"^PID-3 repetition 1 is an INS"):
        parse_message(first)


# -- acknowledgements ----------------------------------------------------------------------------


def test_an_ack_as_written_and_read_back() -> None:
    header = parse_message(adt()).header
    error = AckError(
        "102", "PID-7 bad", segment="PID", field=7, component=1, severity="E",
        application_code="X|1",
    )  # fmt: skip
    data = build_ack(header, AckCode.AE, [error], control_id="ACK1", now=NOW, text="a|b")
    assert data.decode("utf-8").split("\r") == [
        "MSH|^~\\&|DUI|CHU-X|GAM|CHU-X|20240501103000||ACK^A31^ACK|ACK1|P|2.5^FRA^2.11"
        "|||||FRA|UNICODE UTF-8",  # MSH-17 and MSH-18 echoed
        "MSA|AE|MSG0001|a\\F\\b",
        "ERR||PID^1^7^1^1|102^Data type error^HL70357|E|X\\F\\1^^SEGURLINK|||PID-7 bad",
        "",
    ]
    ack = parse_ack(data)
    assert (ack.code, ack.acknowledged_id, ack.control_id, ack.text) == (
        AckCode.AE, "MSG0001", "ACK1", "a|b",
    )  # fmt: skip
    assert ack.errors == (error,)


def test_an_ack_without_a_readable_header() -> None:
    errors = [AckError("100", "no MSH"), AckError("999", "?", segment="PID")]
    data = build_ack(
        None, AckCode.AR, errors, control_id="A|1", now=datetime.datetime(2024, 1, 1),
        application="MON|DUI", facility="EHPAD^1",
    )  # fmt: skip
    assert data.decode("utf-8").split("\r") == [
        "MSH|^~\\&|MON\\F\\DUI|EHPAD\\S\\1|||20240101000000||ACK|A\\F\\1|P|2.5",
        "MSA|AR",
        "ERR|||100^Segment sequence error^HL70357|E||||no MSH",
        "ERR||PID^1|999^^HL70357|E||||?",
        "",
    ]
    default = build_ack(None, AckCode.AA, control_id="1", now=NOW).decode()
    assert default.startswith("MSH|^~\\&|SEGURLINK||||20240501103000||ACK|1|P|2.5\r")


def test_an_ack_is_written_in_the_character_set_of_the_message() -> None:
    header = parse_message(adt(charset="8859/1").encode("latin-1")).header
    data = build_ack(header, AckCode.AE, [AckError("102", "Né")], control_id="1", now=NOW)
    assert data.endswith("|Né\r".encode("latin-1"))
    ascii_header = parse_message(adt(charset="ASCII")).header
    data = build_ack(ascii_header, AckCode.AE, [AckError("102", "Né")], control_id="1", now=NOW)
    assert data.endswith(b"|N?\r")  # not encodable: replaced, never an exception


def test_the_ack_names_its_sender_when_asked() -> None:
    header = parse_message(adt()).header
    data = build_ack(
        header, AckCode.AA, control_id="1", now=NOW, application="MON|DUI", facility="EHPAD"
    )
    assert data.decode().startswith("MSH|^~\\&|MON\\F\\DUI|EHPAD|GAM|CHU-X|20240501103000|")


def test_v23_and_v25_errors_read_whole() -> None:
    v23 = (
        "MSH|^~\\&|DUI|CHU-X|GAM|CHU-X|20240501103000||ACK|1|P|2.3\rMSA|AE|MSG0001\r"
        "ERR|PID^1^7^102&Data type error"
    )
    assert parse_ack(v23).errors == (
        AckError("102", "Data type error", segment="PID", field=7, severity=""),
    )
    v25 = (
        "MSH|^~\\&|DUI|CHU-X|GAM|CHU-X|20240501103000||ACK|1|P|2.5\rMSA|AE|MSG0001\r"
        "ERR||PID^1^x^1^y|102^Data type error^HL70357|W|A1"
    )
    assert parse_ack(v25).errors == (
        AckError("102", "Data type error", segment="PID", field=None, component=None,
                 severity="W", application_code="A1"),
    )  # fmt: skip
    bare = "MSH|^~\\&|DUI|CHU-X|GAM|CHU-X|20240501103000||ACK|1|P|2.3\rMSA|AE|MSG0001\rERR|"
    assert parse_ack(bare).errors == (AckError("", "", segment="", severity=""),)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("MSH|^~\\&|A|B|C|D|2024||ACK|1|P|2.5", ("the acknowledgement has no MSA segment", "MSA", None, "100")),
        ("MSH|^~\\&|A|B|C|D|2024||ACK|1|P|2.5\rMSA|XYZ|1", ("MSA-1 'XY' is not an acknowledgement code", "MSA", 1, "103")),
    ],
)  # fmt: skip
def test_ack_refusals_whole(text: str, expected: tuple[str, str, int | None, str]) -> None:
    with pytest.raises(Hl7Error) as info:
        parse_ack(text)
    error = info.value
    assert (str(error), error.segment, error.field, error.code) == expected


# -- identity updates ----------------------------------------------------------------------------

ZOE = IdentityTraits.from_input(
    birth_name="ADRUN", first_names="ZOE", sex="F", birth_date="1975-12-31", birth_place="63220"
)


def _qual() -> IdentityUpdate:
    return IdentityUpdate(
        ZOE, IdentityStatus.QUAL, Ins("2751263220749", "74"), datetime.date(2009, 1, 2)
    )


def test_update_refusals_whole() -> None:
    message = parse_message(adt())
    with pytest.raises(Hl7Error) as info:
        build_identity_update(message, _qual(), control_id="1", now=NOW, event="A99999999")
    error = info.value
    assert (str(error), error.segment, error.field, error.code) == (
        "segurlink writes the events A01, A04, A08, A28, A31, A40, A47, not 'A9999999'",
        "MSH", 9, "201",
    )  # fmt: skip
    for event in ("A40", "A47"):
        with pytest.raises(Hl7Error) as info:
            build_identity_update(message, _qual(), control_id="1", now=NOW, event=event)
        error = info.value
        assert (str(error), error.segment, error.code) == (
            f"an {event} needs the MRG segment the received message does not have", "MRG", "100",
        )  # fmt: skip


def test_update_names_its_sender() -> None:
    message = parse_message(adt())
    out = build_identity_update(message, _qual(), control_id="1", now=NOW).decode()
    assert out.startswith("MSH|^~\\&|SEGURLINK||DUI|CHU-X|20240501103000||ADT^A31^ADT_A05|1|")
    named = build_identity_update(
        message, _qual(), control_id="1", now=NOW, application="MON|DUI", facility="EHPAD^1"
    ).decode()
    assert named.startswith("MSH|^~\\&|MON\\F\\DUI|EHPAD\\S\\1|DUI|CHU-X|")


def test_a_person_update_keeps_the_patient_segments_in_order() -> None:
    patient = "PD1|||CHU-X\rROL||AD|ODRP|DOC\rNK1|1|ADRUN^JEAN\r"
    text = adt().replace("PV1|1|N", patient + "PV1|1|N\rZFD|||N")
    out = build_identity_update(parse_message(text), _qual(), control_id="1", now=NOW)
    assert [line[:3] for line in out.decode().split("\r") if line] == [
        "MSH", "EVN", "PID", "PD1", "ROL", "NK1", "PV1", "ZFD",
    ]  # fmt: skip


def test_an_update_writes_the_ins_and_the_legal_name_a_pid_does_not_have() -> None:
    out = build_identity_update(parse_message(MSH + "\rPID|1"), _qual(), control_id="1", now=NOW)
    assert out.decode().split("\r")[2] == (
        "PID|1||275126322074974^^^ASIP-SANTE-INS-NIR&1.2.250.1.213.1.4.8&ISO^INS^^20090102"
        "||ADRUN^ZOE^ZOE^^^^L" + "|" * 27 + "QUAL"
    )
    # the legal name goes first, before a used name; a name without type is kept as is
    text = MSH + "\rPID|1||X||USED^ANA^^^^^D~OLD^NAME^^^^"
    out = build_identity_update(parse_message(text), _qual(), control_id="1", now=NOW)
    pid = out.decode().split("\r")[2].split("|")
    assert pid[5] == "ADRUN^ZOE^ZOE^^^^L~USED^ANA^^^^^D~OLD^NAME^^^^"
    # only the first legal name takes the reference traits
    text = MSH + "\rPID|1||X||A^B^^^^^L~C^D^^^^^L"
    out = build_identity_update(parse_message(text), _qual(), control_id="1", now=NOW)
    assert out.decode().split("\r")[2].split("|")[5] == "ADRUN^ZOE^ZOE^^^^L~C^D^^^^^L"


def test_every_ins_repetition_gives_way_to_the_qualified_one() -> None:
    # an INS told by its OID only (no CX.5), then a second INS told by CX.5 only
    pid3 = "275126322074974^^^&1.2.250.1.213.1.4.8&ISO~LOC^^^X&1.2.3&ISO^PI~OLD^^^^INS"
    text = MSH + f"\rPID|1||{pid3}||A^B^^^^^L"
    out = build_identity_update(parse_message(text), _qual(), control_id="1", now=NOW)
    assert out.decode().split("\r")[2].split("|")[3] == (
        "275126322074974^^^ASIP-SANTE-INS-NIR&1.2.250.1.213.1.4.8&ISO^INS^^20090102"
        "~LOC^^^X&1.2.3&ISO^PI"
    )


def test_a_merge_update_keeps_the_mrg_segment() -> None:
    text = adt(event="A40", extra_segments="MRG|OLD1^^^CHU-X&1.2.250.1.999.1&ISO^PI")
    out = build_identity_update(parse_message(text), _qual(), control_id="1", now=NOW, event="A40")
    assert out.decode().split("\r")[-2] == "MRG|OLD1^^^CHU-X&1.2.250.1.999.1&ISO^PI"


def test_an_update_escapes_with_the_escape_character_of_the_message() -> None:
    text = "MSH|^~#&|A|B|C|D|2024||ADT^A31^ADT_A05|1|P|2.5\rPID|1||X#T#Y||A^B^^^^^L"
    out = build_identity_update(
        parse_message(text), _qual(), control_id="C|1", now=NOW, application="MON|DUI"
    ).decode()
    msh, _, pid = out.split("\r")[:3]
    assert msh.startswith("MSH|^~#&|MON#F#DUI||C|D|20240501103000||ADT^A31^ADT_A05|C#F#1|")
    assert pid.split("|")[3].startswith("X#T#Y~")


@pytest.mark.parametrize(
    ("text", "where"),
    [
        (adt().replace("ADRUN^ZOE", "AD\\RUN^ZOE"), ("PID", 5)),
        (adt().replace("LOC123", "LOC\\Z"), ("PID", 3)),
        (adt().replace("|F|", "|F\\Q|"), ("PID", 8)),
        (adt().replace("BDL^^63220", "BDL^^63\\Q\\"), ("PID", 11)),
        (adt().replace("^BDL^", "^B\\Q\\DL^"), ("PID", 11)),
        (adt(extra_segments="MRG|OLD\\Z"), ("MRG", 1)),
    ],
)
def test_a_broken_escape_names_its_field(text: str, where: tuple[str, int]) -> None:
    with pytest.raises(Hl7Error) as info:
        parse_message(text)
    error = info.value
    assert (str(error), error.segment, error.field, error.code) == (
        f"{where[0]}-{where[1]}: an escape sequence is incomplete or unknown", *where, "102",
    )  # fmt: skip


def test_dates_are_ascii_digits_and_may_be_a_year_only() -> None:
    assert parse_message(adt(birth_date="1975")).identity.birth_date == "1975-00-00"
    with pytest.raises(Hl7Error, match=r"^PID-7 is not a date \(YYYY\[MM\[DD\]\]\)$"):
        parse_message(adt(birth_date="١٩٧٥١٢٣١"))  # Arabic-Indic digits
    full_width = adt(ins="275126322074974").replace("^INS^^20101207", "^INS^^２０１０１２０７")
    with pytest.raises(Hl7Error, match=r"^PID-3 repetition 2: CX.7 is not a date"):
        parse_message(full_width)


def test_names_in_hex_escapes_and_a_charset_field_that_repeats() -> None:
    # \Xhh\ bytes that are not UTF-8 are Latin-1
    assert parse_message(adt().replace("ADRUN", "D\\XE9\\SIR")).identity.birth_name == "DéSIR"
    # MSH-18 may repeat: the first repetition is the character set of the message
    text = MSH + "|||||FRA|8859/1~UNICODE UTF-8\rPID|1||X||DÉ^Z^^^^^L"
    message = parse_message(text.encode("latin-1"))
    assert (message.header.charset, message.identity.birth_name) == ("8859/1", "DÉ")
    # an MSH that stops at MSH-17 declares no character set: UTF-8
    text = MSH + "|||||FRA\rPID|1||X||DÉ^Z^^^^^L"
    message = parse_message(text.encode())
    assert (message.header.charset, message.identity.birth_name) == ("", "DÉ")


def test_a_batch_around_one_message_is_read() -> None:
    text = "FHS|^~\\&|A\rBHS|^~\\&|A\r" + adt() + "BTS|1\rFTS|1\r"
    assert parse_message(text).identity.birth_name == "ADRUN"
    assert parse_message(adt().replace("\r", "\r\n")).identity.birth_name == "ADRUN"


def test_ack_errors_read_with_their_sequence_and_application_label() -> None:
    ack = "MSH|^~\\&|DUI|CHU-X|GAM|CHU-X|20240501103000||ACK|1|P|2.5\rMSA|AE|MSG0001\r"
    err = "ERR||OBX^4^5^1^2|102^Data type error^HL70357|E|902^Type non autorisé^X|||OBX-5 illisible"
    assert parse_ack(ack + err).errors == (
        AckError("102", "OBX-5 illisible", segment="OBX", field=5, component=2, severity="E",
                 application_code="902", application_label="Type non autorisé", sequence=4),
    )  # fmt: skip
    # v2.3: ERR-1 names the segment's sequence too
    assert parse_ack(ack + "ERR|OBX^3^5^102&Data type error").errors[0].sequence == 3
    # numbers in other scripts are no numbers; an ERR without any field is read empty
    assert parse_ack(ack + "ERR||PID^²^٣^1^²|102").errors == (
        AckError("102", segment="PID", severity=""),
    )
    assert parse_ack(ack + "ERR").errors == (AckError("", segment="", severity=""),)
    with pytest.raises(Hl7Error) as info:
        parse_ack(ack + "ERR||PID^1|102|||||bad \\Q escape")
    assert (str(info.value), info.value.segment, info.value.field) == (
        "ERR-8: an escape sequence is incomplete or unknown", "ERR", 8,
    )  # fmt: skip


def test_an_ack_error_without_text_ends_at_its_last_field() -> None:
    ack = build_ack(
        parse_header(adt()), AckCode.AE, [AckError("101", segment="PID", field=3)],
        control_id="A1", now=NOW,
    )  # fmt: skip
    assert ack.decode().split("\r")[2] == "ERR||PID^1^3|101^Required field missing^HL70357|E"


def test_an_ack_to_a_character_set_segurlink_does_not_write_is_in_utf_8() -> None:
    header = dataclasses.replace(parse_header(adt()) or pytest.fail("no header"), charset="KOI8-R")
    ack = build_ack(header, AckCode.AA, control_id="A1", now=NOW, text="é")
    assert ack.endswith("MSA|AA|MSG0001|é\r".encode())


def test_escape_value_writes_control_characters_as_hex() -> None:
    assert escape_value("A\x7fB\x1fC") == "A\\X7F\\B\\X1F\\C"


# -- the reading helpers other modules use (gateway) ---------------------------------------------


def test_decode_message_gives_the_text_as_received() -> None:
    data = b"\xef\xbb\xbf\r\n " + adt(charset="8859/1").replace("ADRUN", "DÉSIR").encode("latin-1")
    assert decode_message(data) == adt(charset="8859/1").replace("ADRUN", "DÉSIR")
    assert decode_message("MSH|as is") == "MSH|as is"
    with pytest.raises(Hl7Error) as info:
        decode_message(42)  # type: ignore[arg-type]
    assert (str(info.value), info.value.segment, info.value.code) == (
        "an HL7 message is bytes or text", "MSH", "100",
    )  # fmt: skip


def test_the_tree_and_its_values() -> None:
    text = adt(ins="275126322074974").replace("|F|", '|""|').replace("CHU-X|DUI", "CHU\\T\\X|DUI")
    header, tree = parse_tree(text.rstrip("\r"))  # one message, segments joined by CR
    assert header == parse_header(text)
    pid = tree.segment("PID")
    assert field_value(tree, pid, 3) == "LOC123"
    assert field_value(tree, pid, 3, rep=1) == "275126322074974"
    assert field_value(tree, pid, 3, rep=1, component=4, sub=2) == "1.2.250.1.213.1.4.8"
    assert field_value(tree, pid, 3, rep=2) == ""  # no third repetition
    assert field_value(tree, pid, 8) == ""  # the HL7 null
    assert field_value(tree, pid, 99) == ""
    msh = tree.segment("MSH")
    assert field_value(tree, msh, 4) == "CHU&X"
    assert field_repetitions(msh, 4) == [[["CHU\\T\\X"]]]
    assert field_repetitions(pid, 3)[1][3] == ["ASIP-SANTE-INS-NIR", "1.2.250.1.213.1.4.8", "ISO"]
    assert unescape_value(tree, "A\\S\\B") == "A^B"
    with pytest.raises(Hl7Error) as info:
        unescape_value(tree, "A\\B")
    assert (str(info.value), info.value.segment, info.value.field) == (
        "an escape sequence is incomplete or unknown", "", None,
    )  # fmt: skip


def test_a_tree_that_does_not_start_with_msh_is_refused() -> None:
    with pytest.raises(Hl7Error) as info:
        parse_tree("PID|^~\\&|A")
    assert (str(info.value), info.value.segment, info.value.field, info.value.code) == (
        "python-hl7 cannot read the message (ParseException)", "MSH", None, "102",
    )  # fmt: skip
