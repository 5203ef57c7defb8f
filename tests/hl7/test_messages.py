"""Reading and writing PAM FR messages: encodings, line ends, escapes, repetitions, errors
naming the segment and field, the identity update and the ACK, round trips."""

from __future__ import annotations

import datetime

import hl7 as python_hl7
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from segurlink.errors import Hl7Error, InputError
from segurlink.hl7 import (
    AckCode,
    AckError,
    IdentityUpdate,
    build_ack,
    build_identity_update,
    escape_value,
    parse_ack,
    parse_header,
    parse_message,
)
from segurlink.identity import IdentityStatus, IdentityTraits, Ins
from tests.hl7.conftest import ADT_SAMPLES, SAMPLE_INS, TEST_OID, adt, sample

NOW = datetime.datetime(2024, 5, 1, 10, 30, 0)
ZOE = IdentityTraits.from_input(
    birth_name="ADRUN", first_names="ZOE", sex="F", birth_date="1975-12-31", birth_place="63220"
)
ZOE_INS = Ins("2751263220749", "74")


def qual(traits: IdentityTraits = ZOE, ins: Ins | None = ZOE_INS) -> IdentityUpdate:
    return IdentityUpdate(traits, IdentityStatus.QUAL, ins, datetime.date(2009, 1, 2))


def segments(data: bytes) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for line in data.decode("utf-8").split("\r"):
        if line:
            found.setdefault(line[:3], []).append(line)
    return found


def field(data: bytes, segment: str, number: int) -> str:
    line = segments(data)[segment][0]
    # MSH-1 is the separator itself: MSH-n is the n-1th piece.
    return line.split("|")[number - 1 if segment == "MSH" else number]


# -- reading ------------------------------------------------------------------------------


@pytest.mark.parametrize("separator", ["\r", "\n", "\r\n"])
def test_segments_separated_by_cr_lf_or_crlf(separator: str) -> None:
    message = parse_message(adt(separator=separator).encode())
    assert message.segment_ids == ("MSH", "EVN", "PID", "PV1")
    assert message.identity.birth_name == "ADRUN"
    assert "\n" not in message.text


def test_blank_lines_bom_and_leading_whitespace_are_ignored() -> None:
    data = b"\xef\xbb\xbf\r\n" + adt(separator="\n").replace("\nEVN", "\n\n  \nEVN").encode()
    assert parse_message(data).segment_ids == ("MSH", "EVN", "PID", "PV1")


def test_latin1_message_is_decoded_with_msh_18() -> None:
    text = adt(charset="8859/1", birth_name="LÉON", first_name="Hélène")
    message = parse_message(text.encode("latin-1"))
    assert (message.identity.birth_name, message.identity.first_names) == ("LÉON", ("Hélène",))
    assert message.identity.traits().birth_name == "LEON"
    assert message.header.charset == "8859/1"


def test_utf8_message_with_latin1_bytes_is_refused_naming_msh_18() -> None:
    data = adt(birth_name="LÉON").encode("latin-1")
    with pytest.raises(Hl7Error) as info:
        parse_message(data)
    assert (info.value.segment, info.value.field) == ("MSH", 18)
    assert "LÉON" not in str(info.value)


def test_unknown_charset_is_refused_naming_msh_18() -> None:
    with pytest.raises(Hl7Error) as info:
        parse_message(adt(charset="UNICODE UTF-16").encode())
    assert (info.value.location, info.value.code) == ("MSH-18", "103")


def test_undeclared_charset_is_read_as_strict_utf8() -> None:
    assert parse_message(adt(charset="", birth_name="NOËL").encode()).identity.birth_name == "NOËL"
    with pytest.raises(Hl7Error, match="MSH-18 no character set"):
        parse_message(adt(charset="", birth_name="NOËL").encode("latin-1"))


def test_names_with_every_escape_sequence_are_unescaped() -> None:
    text = adt(birth_name=r"A\F\B\S\C\R\D\E\E\T\F", first_name=r"J\X41\N")
    assert parse_message(text).identity.birth_name == "A|B^C~D\\E&F"
    assert parse_message(text).identity.first_names == ("JAN",)


def test_hex_escape_holds_utf8_bytes() -> None:
    assert parse_message(adt(birth_name=r"L\XC389\ON")).identity.birth_name == "LÉON"


@pytest.mark.parametrize("name", [r"A\Q\B", r"A\F", r"A\\B", r"A\X4\B", r"A\.sp+\B"])
def test_broken_escape_is_refused_naming_pid_5(name: str, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level("DEBUG")
    with pytest.raises(Hl7Error) as info:
        parse_message(adt(birth_name=name))
    assert info.value.location == "PID-5"
    assert caplog.records == []  # python-hl7 would log the field's content


def test_unknown_codes_are_kept() -> None:
    identity = parse_message(adt(status="VALI~HOMD~ZZZ", sex="U")).identity
    assert identity.reliability_codes == ("VALI", "HOMD", "ZZZ")
    assert identity.unknown_reliability_codes == ("HOMD", "ZZZ")
    assert identity.status is IdentityStatus.VALI
    assert identity.sex == "U"
    assert not identity.doubtful and not identity.fictitious


@pytest.mark.parametrize(
    ("codes", "doubtful", "fictitious", "status"),
    [
        ("PROV~DOUTE", True, False, IdentityStatus.PROV),
        ("DOUT", True, False, None),
        ("FICTI", False, True, None),
        ("PROV~FICT", False, True, IdentityStatus.PROV),
        ("RECUP", False, False, IdentityStatus.RECUP),
        ("QUAL", False, False, IdentityStatus.QUAL),
        ("HOMD~PROV~VALI", False, False, IdentityStatus.PROV),
    ],
)
def test_reliability_codes(
    codes: str, doubtful: bool, fictitious: bool, status: IdentityStatus | None
) -> None:
    identity = parse_message(adt(status=codes)).identity
    assert (identity.doubtful, identity.fictitious, identity.status) == (
        doubtful,
        fictitious,
        status,
    )


@pytest.mark.parametrize(
    ("first", "listed", "expected"),
    [
        ("PIERRE-ALAIN", "PIERRE-ALAIN MURIEL FLORIANT", ("PIERRE-ALAIN", "MURIEL", "FLORIANT")),
        ("Zoé", "zoé", ("zoé",)),  # the list is authoritative
        ("JEAN", "PAUL MARIE", ("JEAN", "PAUL", "MARIE")),  # XPN.3 read as the other names
        ("JEAN", "", ("JEAN",)),
        ("", "ANNE MARIE", ("ANNE", "MARIE")),
    ],
)
def test_birth_first_names_from_xpn2_and_xpn3(
    first: str, listed: str, expected: tuple[str, ...]
) -> None:
    identity = parse_message(adt(first_name=first, first_names=listed)).identity
    assert identity.first_names == expected


def test_used_name_comes_from_the_d_repetition() -> None:
    identity = parse_message(adt(used_name="MARTIN")).identity
    assert (identity.birth_name, identity.used_name, identity.used_first_name) == (
        "ADRUN",
        "MARTIN",
        "ZOE",
    )
    assert identity.traits().used_name == "MARTIN"


def test_name_without_legal_repetition_gives_no_traits() -> None:
    text = adt().replace("ADRUN^ZOE^ZOE^^^^L", "ADRUN^ZOE^ZOE^^^^D")
    identity = parse_message(text).identity
    assert identity.birth_name is None and identity.used_name == "ADRUN"
    with pytest.raises(InputError) as info:
        identity.traits()
    assert getattr(info.value, "field", None) == "birth_name"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("19751231", "1975-12-31"),
        ("197512311230", "1975-12-31"),
        ("19751231123045.12+0100", "1975-12-31"),
        ("197512", "1975-12-00"),
        ("1950", "1950-00-00"),
        ("19500000", "1950-00-00"),  # lunar date as some senders write it
    ],
)
def test_birth_dates(raw: str, expected: str) -> None:
    assert parse_message(adt(birth_date=raw)).identity.birth_date == expected


@pytest.mark.parametrize(
    "raw", ["19751331", "19750230", "1975123", "31/12/1975", "19750012", "197513"]
)
def test_bad_birth_date_is_refused_naming_pid_7(raw: str) -> None:
    with pytest.raises(Hl7Error) as info:
        parse_message(adt(birth_date=raw))
    assert (info.value.segment, info.value.field, info.value.location) == ("PID", 7, "PID-7")
    assert raw not in str(info.value)


def test_ins_of_pid_3_with_oid_and_date() -> None:
    identity = parse_message(adt(ins="275126322074974")).identity
    assert identity.ins == ZOE_INS
    assert identity.ins_effective_date == datetime.date(2010, 12, 7)
    assert [i.type_code for i in identity.identifiers] == ["PI", "INS"]
    assert [i.value for i in identity.local_ids] == ["LOC123"]
    assert identity.local_ids[0].oid == "1.2.250.1.999.1"


def test_nia_is_read_with_its_oid() -> None:
    identity = parse_message(adt(ins="109076322088835", oid="1.2.250.1.213.1.4.9")).identity
    assert identity.ins is not None and identity.ins.is_nia


@pytest.mark.parametrize(
    ("ins", "oid", "component"),
    [
        ("27512632207497", "1.2.250.1.213.1.4.8", 1),  # 14 characters
        ("2751263220749744", "1.2.250.1.213.1.4.8", 1),  # 16
        ("275126322074974", "1.2.3.4", 1),  # not an INS OID
        ("27512632207X974", "1.2.250.1.213.1.4.8", 1),
    ],
)
def test_malformed_ins_is_refused_naming_pid_3(ins: str, oid: str, component: int) -> None:
    with pytest.raises(Hl7Error) as info:
        parse_message(adt(ins=ins, oid=oid))
    assert (info.value.segment, info.value.field, info.value.component) == ("PID", 3, component)
    assert ins not in str(info.value)


def test_ins_with_bad_effective_date_names_cx_7() -> None:
    text = adt(ins="275126322074974").replace("^INS^^20101207", "^INS^^20101307")
    with pytest.raises(Hl7Error) as info:
        parse_message(text)
    assert info.value.location == "PID-3.7"


def test_merge_message_reads_mrg_1() -> None:
    text = adt(event="A40", extra_segments="MRG|OLD42^^^CHU-X&1.2.250.1.999.1&ISO^PI")
    message = parse_message(text)
    assert [(i.value, i.type_code) for i in message.prior_identifiers] == [("OLD42", "PI")]


@pytest.mark.parametrize(
    ("text", "location", "code"),
    [
        ("PID|1||X", "MSH", "100"),
        ("", "MSH", "100"),
        ("MSH|^~\\&|A|B|C|D|2024||ADT^A31|", "MSH-10", "101"),
        ("MSH|^~\\&|A|B|C|D|2024|||1|P|2.5\rPID|1", "MSH-9", "101"),
        ("MSH|^~\\&|A|B|C|D|2024||ORU^R01|1|P|2.5\rPID|1", "MSH-9", "200"),
        ("MSH|^~\\&|A|B|C|D|2024||ADT^A31|1|P|2.5\rEVN|", "PID", "100"),
        ("MSH|^^\\&|A|B|C|D|2024||ADT^A31|1|P|2.5\rPID|1", "MSH-2", "102"),
        ("MSH|^~\\|A|B|C|D|2024||ADT^A31|1|P|2.5\rPID|1", "MSH-2", "102"),
        ("MSHX^~\\&XA", "MSH-2", "102"),
        ("MSH|^~\\&|A|B|C|D|2024||ADT^A31|1|P|2.5\rpid|1", "", "100"),
        ("MSH|^~\\&|A|B|C|D|2024||ADT^A31|1|P|2.5\rPID1||X", "", "100"),
    ],
)
def test_malformed_messages_name_segment_and_field(text: str, location: str, code: str) -> None:
    with pytest.raises(Hl7Error) as info:
        parse_message(text)
    assert (info.value.location, info.value.code) == (location, code)
    assert info.value.exit_code == 2


def test_two_messages_in_one_input_are_refused() -> None:
    with pytest.raises(Hl7Error, match="holds 2 messages"):
        parse_message(adt() + adt())


def test_repr_hides_health_data() -> None:
    message = parse_message(adt(ins="275126322074974", used_name="MARTIN"))
    text = repr(message) + repr(message.identity) + repr(message.identity.identifiers)
    for secret in ("ADRUN", "ZOE", "275126322074974", "1975", "63220", "LOC123", "MARTIN"):
        assert secret not in text


def test_read_header_of_a_message_broken_after_msh() -> None:
    header = parse_header(adt(birth_date="1975-12-31").encode())
    assert header is not None and (header.control_id, header.event) == ("MSG0001", "A31")
    assert parse_header(b"garbage") is None


# -- writing ------------------------------------------------------------------------------


def test_update_adds_the_ins_with_its_assigning_authority_and_sets_pid_32() -> None:
    message = parse_message(adt(status="VALI"))
    out = build_identity_update(message, qual(), control_id="SL1", now=NOW)
    pid3 = field(out, "PID", 3).split("~")
    assert pid3 == [
        "LOC123^^^CHU-X&1.2.250.1.999.1&ISO^PI",
        "275126322074974^^^ASIP-SANTE-INS-NIR&1.2.250.1.213.1.4.8&ISO^INS^^20090102",
    ]
    assert field(out, "PID", 32) == "QUAL"
    assert field(out, "MSH", 9) == "ADT^A31^ADT_A05"
    assert (field(out, "MSH", 10), field(out, "MSH", 7)) == ("SL1", "20240501103000")
    assert field(out, "MSH", 18) == "UNICODE UTF-8"
    assert (field(out, "MSH", 3), field(out, "MSH", 5)) == ("SEGURLINK", "DUI")
    assert segments(out)["EVN"] == ["EVN||20240501103000"]
    assert out.endswith(b"\r") and b"\n" not in out


@pytest.mark.parametrize(
    ("oid", "namespace"),
    [
        ("1.2.250.1.213.1.4.8", "ASIP-SANTE-INS-NIR"),
        ("1.2.250.1.213.1.4.9", "ASIP-SANTE-INS-NIA"),
        ("1.2.250.1.213.1.4.10", "ASIP-SANTE-INS-NIR"),
    ],
)
def test_assigning_authority_follows_the_oid(oid: str, namespace: str) -> None:
    update = qual(ins=Ins("1090763220888", "35", oid))
    out = build_identity_update(parse_message(adt()), update, control_id="1", now=NOW)
    assert field(out, "PID", 3).split("~")[1].split("^")[3] == f"{namespace}&{oid}&ISO"


def test_ins_repetition_without_effective_date_ends_at_its_type() -> None:
    update = IdentityUpdate(ZOE, IdentityStatus.QUAL, ZOE_INS)
    out = build_identity_update(parse_message(adt()), update, control_id="1", now=NOW)
    assert field(out, "PID", 3).split("~")[1] == (
        "275126322074974^^^ASIP-SANTE-INS-NIR&1.2.250.1.213.1.4.8&ISO^INS"
    )


def test_update_replaces_the_ins_in_place_and_drops_other_ins_repetitions() -> None:
    text = adt(ins="109076322088835", oid="1.2.250.1.213.1.4.9").replace(
        "^PI~", "^PI~2751263220749XX^^^ASIP-SANTE-INS-NIR&1.2.3&ISO^AN~"
    )
    text = text.replace(
        "INS^^20101207", "INS^^20101207~297022A02077878^^^X&1.2.250.1.213.1.4.8&ISO^INS"
    )
    out = build_identity_update(parse_message(text), qual(), control_id="1", now=NOW)
    reps = field(out, "PID", 3).split("~")
    assert [r.split("^")[0] for r in reps] == ["LOC123", "2751263220749XX", "275126322074974"]
    assert parse_message(out).identity.ins == ZOE_INS


def test_update_without_ins_removes_the_ins_repetition() -> None:
    message = parse_message(adt(ins="275126322074974", status="PROV"))
    out = build_identity_update(
        message, IdentityUpdate(ZOE, IdentityStatus.RECUP), control_id="1", now=NOW
    )
    assert field(out, "PID", 3) == "LOC123^^^CHU-X&1.2.250.1.999.1&ISO^PI"
    assert field(out, "PID", 32) == "RECUP"
    assert parse_message(out).identity.ins is None


def test_pid_5_takes_the_reference_traits_and_keeps_the_used_name() -> None:
    message = parse_message(adt(birth_name="Adrün", first_name="zoé", used_name="Martin"))
    out = build_identity_update(message, qual(), control_id="1", now=NOW)
    assert field(out, "PID", 5) == "ADRUN^ZOE^ZOE^^^^L~Martin^zoé^^^^^D"


def test_pid_32_keeps_non_status_codes() -> None:
    out = build_identity_update(
        parse_message(adt(status="HOMD~PROV~ZZZ")), qual(), control_id="1", now=NOW
    )
    assert field(out, "PID", 32) == "QUAL~HOMD~ZZZ"


@pytest.mark.parametrize("event", ["A28", "A31"])
def test_person_event_writes_adt_a05_with_pv1_n_and_keeps_patient_segments(event: str) -> None:
    text = adt(event="A01").replace(
        "PV1|1|N", "PD1||U\rROL||UC|ODRP|X\rPV1|1|I|WARD\rPV2|||X\rROL||UC|ATND|Y\rZBE|1\rZFD|||Y"
    )
    out = build_identity_update(parse_message(text), qual(), event=event, control_id="1", now=NOW)
    assert field(out, "MSH", 9) == f"ADT^{event}^ADT_A05"
    assert [line[:3] for line in out.decode().split("\r") if line] == [
        "MSH",
        "EVN",
        "PID",
        "PD1",
        "ROL",
        "PV1",
        "ZFD",
    ]
    assert segments(out)["PV1"] == ["PV1|1|N"]
    assert segments(out)["ROL"] == ["ROL||UC|ODRP|X"]


def test_other_events_keep_every_segment() -> None:
    text = adt(event="A01").replace("PV1|1|N", "PV1|1|I|WARD\rZBE|1")
    out = build_identity_update(parse_message(text), qual(), event="A08", control_id="1", now=NOW)
    assert [line[:3] for line in out.decode().split("\r") if line] == [
        "MSH",
        "EVN",
        "PID",
        "PV1",
        "ZBE",
    ]
    assert field(out, "MSH", 9) == "ADT^A08^ADT_A01"
    assert segments(out)["PV1"] == ["PV1|1|I|WARD"]


def test_merge_event_needs_mrg() -> None:
    with pytest.raises(Hl7Error) as info:
        build_identity_update(parse_message(adt()), qual(), event="A40", control_id="1", now=NOW)
    assert info.value.segment == "MRG"
    with pytest.raises(Hl7Error) as info:
        build_identity_update(parse_message(adt()), qual(), event="A99", control_id="1", now=NOW)
    assert info.value.location == "MSH-9"


def test_latin1_input_is_written_as_utf8() -> None:
    message = parse_message(adt(charset="8859/1", used_name="HÉLÈNE").encode("latin-1"))
    out = build_identity_update(message, qual(), control_id="1", now=NOW)
    assert field(out, "MSH", 18) == "UNICODE UTF-8"
    assert parse_message(out).identity.used_name == "HÉLÈNE"


@pytest.mark.parametrize("name", ADT_SAMPLES)
def test_samples_round_trip_parse_build_parse_is_stable(name: str) -> None:
    message = parse_message(sample(name))
    ins = message.identity.ins
    assert ins is not None
    update = IdentityUpdate(
        message.identity.traits(), IdentityStatus.QUAL, ins, message.identity.ins_effective_date
    )
    first = build_identity_update(message, update, control_id="SL1", now=NOW, event="A08")
    again = parse_message(first)
    assert again.identity == message.identity.__class__(
        **{
            **{s: getattr(message.identity, s) for s in message.identity.__slots__},
            "reliability_codes": ("QUAL",),
        }
    )
    assert again.identity.ins is not None and again.identity.ins.value == SAMPLE_INS
    assert again.identity.ins.oid == TEST_OID
    second = build_identity_update(again, update, control_id="SL1", now=NOW, event="A08")
    assert second == first
    # Everything outside MSH, EVN, PID-32 is byte-identical to the sample.
    original = [line for line in sample(name).decode().replace("\r\n", "\n").split("\n") if line]
    written = [line for line in first.decode().split("\r") if line]
    assert written[3:] == original[3:]


# -- acknowledgements ------------------------------------------------------------------------


def test_ack_swaps_sender_and_receiver_and_echoes_msh_11_12_18() -> None:
    message = parse_message(adt(charset="8859/1").encode("latin-1"))
    ack = build_ack(message.header, AckCode.AA, control_id="ACK1", now=NOW)
    msh = ack.decode("latin-1").split("\r")[0].split("|")
    assert msh[2:12] == [
        "DUI",
        "CHU-X",
        "GAM",
        "CHU-X",
        "20240501103000",
        "",
        "ACK^A31^ACK",
        "ACK1",
        "P",
        "2.5^FRA^2.11",
    ]
    assert msh[17] == "8859/1"
    assert ack.decode().split("\r")[1] == "MSA|AA|MSG0001"
    assert parse_ack(ack).acknowledged_id == "MSG0001"


def test_ack_errors_carry_location_code_severity_and_application_code() -> None:
    header = parse_message(adt()).header
    errors = [
        AckError("102", "birth date is not a date", "PID", 7),
        AckError("207", "INSi: CR 01", application_code="INSI_NOT_FOUND"),
        AckError("101", "no first name", "PID", 5, 2, severity="W"),
    ]
    ack = build_ack(header, AckCode.AE, errors, control_id="A", now=NOW, text="a|b")
    lines = ack.decode().split("\r")
    assert lines[1] == "MSA|AE|MSG0001|a\\F\\b"
    assert lines[2] == "ERR||PID^1^7|102^Data type error^HL70357|E||||birth date is not a date"
    assert (
        lines[3]
        == "ERR|||207^Application internal error^HL70357|E|INSI_NOT_FOUND^^SEGURLINK|||INSi: CR 01"
    )
    assert lines[4] == "ERR||PID^1^5^1^2|101^Required field missing^HL70357|W||||no first name"
    read = parse_ack(ack)
    assert read.code is AckCode.AE and read.text == "a|b"
    assert [(e.code, e.location, e.severity, e.application_code) for e in read.errors] == [
        ("102", "PID-7", "E", ""),
        ("207", "", "E", "INSI_NOT_FOUND"),
        ("101", "PID-5.2", "W", ""),
    ]


def test_ack_without_readable_header_is_ar_with_empty_msa_2() -> None:
    ack = build_ack(None, AckCode.AR, [AckError("100", "no MSH", "MSH")], control_id="Z", now=NOW)
    read = parse_ack(ack)
    assert (read.code, read.acknowledged_id, read.control_id) == (AckCode.AR, "", "Z")


def test_parse_ack_refuses_unknown_codes_and_missing_msa() -> None:
    with pytest.raises(Hl7Error) as info:
        parse_ack("MSH|^~\\&|A||||2024||ACK|1|P|2.5\rMSA|XX|1")
    assert info.value.location == "MSA-1"
    with pytest.raises(Hl7Error) as info:
        parse_ack("MSH|^~\\&|A||||2024||ACK|1|P|2.5")
    assert info.value.segment == "MSA"


def test_v23_err_1_is_read() -> None:
    ack = parse_ack("MSH|^~\\&|A||||2024||ACK|1|P|2.3\rMSA|AE|9\rERR|PID^1^5^207&Bad name")
    assert [(e.code, e.location, e.message) for e in ack.errors] == [("207", "PID-5", "Bad name")]


# -- escaping and repetitions (hypothesis) ---------------------------------------------------

names = st.text(st.characters(exclude_categories=("Cs",)), max_size=40)  # type: ignore[arg-type]


@given(names)
def test_escape_value_round_trips_through_python_hl7(text: str) -> None:
    escaped = escape_value(text)
    assert not set("|^~&\r\n") & set(escaped)
    message = python_hl7.parse(f"MSH|^~\\&|A\rPID|1||{escaped}|")
    assert parse_message_value(message) == text


def parse_message_value(message: python_hl7.Message) -> str:
    from segurlink.hl7.messages import _unescape

    return _unescape(message, str(message.segment("PID")[3]))


@given(names.filter(lambda s: s.strip() != ""))
@settings(suppress_health_check=[HealthCheck.too_slow], max_examples=150)
def test_used_name_with_any_character_survives_build_and_parse(text: str) -> None:
    used = text.strip()
    message = parse_message(adt(used_name=escape_value(used)))
    assert message.identity.used_name == used
    out = build_identity_update(message, qual(), control_id="1", now=NOW)
    assert parse_message(out).identity.used_name == used


identifier = st.builds(
    lambda value, ns, type_code: (value, ns, type_code),
    st.text(st.characters(min_codepoint=33, max_codepoint=0x2FF), min_size=1, max_size=12),
    st.text(st.characters(min_codepoint=33, max_codepoint=0x2FF), max_size=8),
    st.sampled_from(["PI", "AN", "VN", "NH", "XX"]),
)


@given(st.lists(identifier, max_size=6), st.booleans(), st.integers(min_value=0, max_value=6))
@settings(max_examples=150)
def test_pid_3_repetitions_survive_and_the_ins_goes_where_it_was(
    identifiers: list[tuple[str, str, str]], had_ins: bool, ins_position: int
) -> None:
    reps = [f"{escape_value(v)}^^^{escape_value(ns)}^{t}" for v, ns, t in identifiers]
    if had_ins:
        position = min(ins_position, len(reps))
        reps.insert(position, "109076322088835^^^ASIP-SANTE-INS-NIA&1.2.250.1.213.1.4.9&ISO^INS")
    text = adt().replace("LOC123^^^CHU-X&1.2.250.1.999.1&ISO^PI", "~".join(reps))
    message = parse_message(text)
    out = build_identity_update(message, qual(), control_id="1", now=NOW)
    again = parse_message(out).identity
    others = [(i.value, i.namespace, i.type_code) for i in again.identifiers if not i.is_ins]
    assert others == [(v, ns, t) for v, ns, t in identifiers if v or t]
    assert again.ins == ZOE_INS
    ins_index = [i.is_ins for i in again.identifiers].index(True)
    expected_index = min(ins_position, len(reps) - 1) if had_ins else len(others)
    kept_before = [r for r in reps[: expected_index if had_ins else len(reps)] if "^INS" not in r]
    assert ins_index == len([r for r in kept_before if r.split("^")[0] or r.split("^")[4]])


@given(st.binary(max_size=300))
@settings(max_examples=300)
def test_any_bytes_give_a_message_or_an_hl7_error(data: bytes) -> None:
    try:
        parse_message(data)
    except Hl7Error:
        pass


@given(st.text(alphabet=st.sampled_from(list("MSHPID|^~\\&\r\nAX19 ")), max_size=120))
@settings(max_examples=300)
def test_hl7_like_text_gives_a_message_or_an_hl7_error(text: str) -> None:
    try:
        parse_message("MSH|^~\\&|A|B|C|D|2024||ADT^A31|1|P|2.5\r" + text)
    except Hl7Error:
        pass


def test_hl7_null_means_no_value() -> None:
    identity = parse_message(adt(used_name='""', sex='""', cog='""')).identity
    assert (identity.used_name, identity.sex, identity.birth_place) == (None, None, None)
