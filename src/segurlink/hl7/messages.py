"""Pure reading and writing of PAM FR messages (HL7 v2.5) with python-hl7: no sockets here.

Reading: the bytes are decoded with the character set MSH-18 declares (``UNICODE UTF-8``,
``8859/1``...), segments may be separated by ``\\r``, ``\\n`` or ``\\r\\n`` (files), blank
lines are ignored, python-hl7 builds the tree, and this module reads the identity out of
it. Anything segurlink cannot read raises :class:`~segurlink.errors.Hl7Error` naming the
segment and field, never quoting a value.

Writing: :func:`build_identity_update` starts from the received message (so every segment
and field segurlink does not own is kept) and changes MSH, EVN, PID-3 (the INS
repetition), PID-5 (the birth name repetition ``L``) and PID-32; :func:`build_ack` writes
the acknowledgement with python-hl7's ``create_ack`` plus ``ERR`` segments. Output is
always UTF-8 with ``\\r`` between segments.

>>> text = ("MSH|^~\\\\&|GAM|CHU|DUI|CHU|20240306111154||ADT^A31^ADT_A05|42|P|2.5\\r"
...         "PID|1||AB12^^^CHU&1.2.3&ISO^PI||ADRUN^ZOE^ZOE^^^^L||19751231|F")
>>> message = parse_message(text)
>>> message.header.event, message.identity.birth_name, message.identity.birth_date
('A31', 'ADRUN', '1975-12-31')
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Iterable, Sequence
from typing import Any, Final

import hl7 as python_hl7
from hl7.util import unescape as _hl7_unescape

from .._ascii import is_ascii_digits
from ..errors import Hl7Error, SegurlinkError
from ..identity import IdentityStatus, Ins, InsOid
from .models import (
    AckCode,
    AckError,
    Acknowledgement,
    IdentityUpdate,
    MessageHeader,
    PamIdentity,
    PamMessage,
    PatientIdentifier,
)

__all__ = [
    "EVENT_STRUCTURES",
    "INS_NAMESPACES",
    "PERSON_EVENTS",
    "build_ack",
    "build_identity_update",
    "decode_message",
    "escape_value",
    "field_repetitions",
    "field_value",
    "hl7_datetime",
    "parse_ack",
    "parse_header",
    "parse_message",
    "parse_tree",
    "unescape_value",
]

#: Message structure (MSH-9.3) of each ADT event segurlink reads or writes.
EVENT_STRUCTURES: Final[dict[str, str]] = {
    "A01": "ADT_A01",
    "A04": "ADT_A01",
    "A08": "ADT_A01",
    "A28": "ADT_A05",
    "A31": "ADT_A05",
    "A40": "ADT_A39",
    "A47": "ADT_A30",
}
#: Events about a person only (no visit): their structure ends with ``PV1|1|N``.
PERSON_EVENTS: Final = frozenset({"A28", "A31"})
#: Assigning authority (CX.4 HD.1) of the INS repetition, by OID.
INS_NAMESPACES: Final[dict[str, str]] = {
    InsOid.NIR.value: "ASIP-SANTE-INS-NIR",
    InsOid.NIA.value: "ASIP-SANTE-INS-NIA",
    InsOid.NIR_TEST.value: "ASIP-SANTE-INS-NIR",
    InsOid.NIR_DEMO.value: "ASIP-SANTE-INS-NIR",
}
UTF8: Final = "UNICODE UTF-8"

# MSH-18 values and the Python codec of each (HL7 table 0211).
_CODECS: Final[dict[str, str]] = {
    "": "utf-8",  # nothing declared: read strictly as UTF-8 (ASCII is a subset)
    "ASCII": "ascii",
    "UNICODE UTF-8": "utf-8",
    **{f"8859/{n}": f"iso8859-{n}" for n in (1, 2, 3, 4, 5, 6, 7, 8, 9, 15)},
}
_BOM: Final = b"\xef\xbb\xbf"
_SEGMENT_ID = re.compile(r"[A-Z][A-Z0-9]{2}")
_BATCH_SEGMENTS = frozenset({"FHS", "BHS", "FTS", "BTS"})
# python-hl7 logs (with the field's content) any escape it cannot decode: only these reach it.
_ESCAPE_SEQUENCE = re.compile(
    r"[FSTREHN]|X(?:[0-9A-Fa-f]{2})+|\.(?:br|fi|nf|ce)|\.(?:sp|sk|in|ti)(?:[+-]?[0-9]+)?"
)
# [0-9], never \d: a date in another script's digits is not a date (see _ascii).
_DTM = re.compile(
    r"(?P<y>[0-9]{4})(?:(?P<m>[0-9]{2})(?:(?P<d>[0-9]{2})"
    r"(?:[0-9]{2}(?:[0-9]{2}(?:[0-9]{2}(?:\.[0-9]{1,4})?)?)?)?)?)?"
    r"(?:[+-][0-9]{4})?"
)
_STATUS_CODES = frozenset(status.value for status in IdentityStatus)
_HL7_NULL = '""'


# -- reading -----------------------------------------------------------------------------


def parse_message(data: bytes | str) -> PamMessage:
    """Read one PAM FR ADT message (bytes as received, or text) into a :class:`PamMessage`.

    Raises :class:`~segurlink.errors.Hl7Error` naming the segment and field for what
    cannot be read: no MSH, broken delimiters, unknown character set, not an ``ADT``
    message, empty control id, no PID, a malformed INS or date, an undecodable escape.
    Unknown codes (PID-32, sex, identifier types) and unknown segments are kept.
    """
    texts = _message_texts(data)
    if len(texts) != 1:
        raise Hl7Error(
            f"the input holds {len(texts)} messages; give one message at a time",
            segment="MSH",
            code="100",
        )
    text = texts[0]
    message = _parse_text(text)
    header = _header(message, _msh_text(text))
    if header.message_type != "ADT":
        raise Hl7Error(
            f"MSH-9 is a {header.message_type} message, not ADT",  # _header refused an empty one
            segment="MSH",
            field=9,
            code="200",
        )
    pids = _segments(message, "PID")
    if not pids:
        raise Hl7Error("the message has no PID segment", segment="PID", code="100")
    identity = _identity(message, pids[0])
    mrgs = _segments(message, "MRG")
    prior = _identifiers(message, mrgs[0], 1) if mrgs else ()
    return PamMessage(
        header=header,
        identity=identity,
        prior_identifiers=prior,
        segment_ids=tuple(str(segment[0]) for segment in message),
        text=text,
    )


def parse_header(data: bytes | str) -> MessageHeader | None:
    """The MSH of a message that may be broken elsewhere, or None when MSH is unreadable.

    Used to acknowledge a message that :func:`parse_message` refused.
    """
    try:
        texts = _message_texts(data)
        text = texts[0]
        msh_text = _msh_text(text)
        return _header(_parse_text(msh_text), msh_text)
    except (SegurlinkError, IndexError):
        return None


def decode_message(data: bytes | str) -> str:
    """The text of a message as received: bytes decoded with the character set MSH-18
    declares (a UTF-8 BOM and leading blank lines dropped); text is returned as is.

    Raises :class:`~segurlink.errors.Hl7Error` (``MSH-18``, code ``103``/``102``) for a
    character set segurlink does not read or bytes invalid for it.
    """
    if isinstance(data, bytes | bytearray):
        return _decode(data)
    if not isinstance(data, str):
        raise Hl7Error("an HL7 message is bytes or text", segment="MSH", code="100")
    return data


def parse_tree(text: str) -> tuple[MessageHeader, Any]:
    """One message (segments separated by ``\\r``) as its header and python-hl7's tree.

    The delimiters and every segment ID are checked first; python-hl7's failures become
    :class:`~segurlink.errors.Hl7Error`. Read values with :func:`field_value`.
    """
    tree = _parse_text(text)
    return _header(tree, _msh_text(text)), tree


def field_repetitions(segment: Any, number: int) -> list[list[list[str]]]:
    """The raw (still escaped) repetitions → components → sub-components of a field."""
    return _reps(segment, number)


def field_value(
    message: Any, segment: Any, number: int, *, rep: int = 0, component: int = 1, sub: int = 1
) -> str:
    """One value of a field (1-based component and sub-component), unescaped; ``""`` when
    absent or the HL7 null ``\"\"``. A broken escape raises :class:`Hl7Error`."""
    return _value(message, segment, number, rep=rep, component=component, sub=sub)


def unescape_value(message: Any, raw: str) -> str:
    """``raw`` (a value as :func:`field_repetitions` gives it) with its escapes decoded."""
    return _unescape(message, raw)


def parse_ack(data: bytes | str) -> Acknowledgement:
    """Read an ``ACK`` (MSA and ERR segments, v2.5 ``ERR-2``/``ERR-3`` or older ``ERR-1``).

    Raises :class:`~segurlink.errors.Hl7Error` when it is not an ACK with a known MSA-1.
    """
    texts = _message_texts(data)
    message = _parse_text(texts[0])
    header = _header(message, _msh_text(texts[0]))
    msas = _segments(message, "MSA")
    if not msas:
        raise Hl7Error("the acknowledgement has no MSA segment", segment="MSA", code="100")
    msa = msas[0]
    raw_code = _value(message, msa, 1)
    try:
        code = AckCode(raw_code)
    except ValueError:
        raise Hl7Error(
            f"MSA-1 {raw_code[:2]!r} is not an acknowledgement code",
            segment="MSA",
            field=1,
            code="103",
        ) from None
    return Acknowledgement(
        code=code,
        acknowledged_id=_value(message, msa, 2),
        control_id=header.control_id,
        text=_value(message, msa, 3),
        errors=tuple(_ack_error(message, err) for err in _segments(message, "ERR")),
    )


def _ack_error(message: Any, err: Any) -> AckError:
    location = _reps(err, 2)
    if location:  # v2.5: ERR-2 ERL = segment^sequence^field^repetition^component, ERR-3 CWE
        comps = location[0]
        component = _number(_sub(comps, 4))
        code, label = _value(message, err, 3), _value(message, err, 3, component=2)
    else:  # v2.3: ERR-1 ELD = segment^sequence^field^code&text
        comps = (_reps(err, 1) or [[[""]]])[0]
        component = None
        code, label = _sub(comps, 3), _sub(comps, 3, 1)
    return AckError(
        code=code.strip(),
        message=_unescape(message, _field_text(err, 8), err, 8) or label.strip(),
        segment=_sub(comps, 0).strip(),
        field=_number(_sub(comps, 2)),
        component=component,
        severity=_value(message, err, 4).strip(),
        application_code=_value(message, err, 5).strip(),
        application_label=_value(message, err, 5, component=2).strip(),
        sequence=_number(_sub(comps, 1)) or 1,
    )


def _number(text: str) -> int | None:
    text = text.strip()
    return int(text) if is_ascii_digits(text) else None  # not isdigit: int("²") fails


def _message_texts(data: bytes | str) -> list[str]:
    text = _decode(data) if isinstance(data, bytes | bytearray) else data
    if not isinstance(text, str):
        raise Hl7Error("an HL7 message is bytes or text", segment="MSH", code="100")
    lines = text.replace("\n", "\r").split("\r")  # CR LF: the empty line is dropped
    segments = [line for line in lines if line.strip() and line[:3] not in _BATCH_SEGMENTS]
    if not segments or not segments[0].startswith("MSH"):
        raise Hl7Error("the message does not start with an MSH segment", segment="MSH", code="100")
    messages: list[list[str]] = []
    for line in segments:
        if line.startswith("MSH"):
            messages.append([])
        messages[-1].append(line)
    return ["\r".join(lines_) for lines_ in messages]


def _decode(data: bytes | bytearray) -> str:
    data = bytes(data)
    if data.startswith(_BOM):
        data = data[len(_BOM) :]
    data = data.lstrip(b" \t\r\n")
    end = len(data)
    for separator in (b"\r", b"\n"):
        position = data.find(separator)
        if position != -1:
            end = min(end, position)
    first_segment = data[:end].decode("latin-1")  # byte-transparent: MSH itself is ASCII
    if not first_segment.startswith("MSH"):
        raise Hl7Error("the message does not start with an MSH segment", segment="MSH", code="100")
    msh = _parse_text(first_segment).segment("MSH")
    charset = _charset(_field_text(msh, 18))
    codec = _CODECS.get(charset)
    if codec is None:
        raise Hl7Error(
            f"MSH-18 declares the character set {charset[:20]!r}, which segurlink does not "
            f"read; supported: {', '.join(repr(c) for c in _CODECS if c)}",
            segment="MSH",
            field=18,
            code="103",
        )
    try:
        return data.decode(codec)
    except UnicodeDecodeError as exc:
        declared = charset or "no character set (read as UTF-8)"
        raise Hl7Error(
            f"the bytes at offset {exc.start} are not valid for MSH-18 {declared}",
            segment="MSH",
            field=18,
            code="102",
        ) from None


def _charset(raw_field: str) -> str:
    # MSH-18 may repeat (the first repetition is the default character set).
    return raw_field.split("~")[0].strip()


def _msh_text(text: str) -> str:
    return text.partition("\r")[0]


def _check_delimiters(text: str) -> None:
    if len(text) < 8:
        raise Hl7Error("MSH is too short to hold its delimiters", segment="MSH", field=2)
    separator = text[3]
    end = text.find(separator, 4)
    encoding = text[4:end]  # read only when end != -1 (the first test below)
    delimiters = separator + encoding
    if (
        end == -1
        or len(encoding) not in (4, 5)
        or len(set(delimiters)) != len(delimiters)
        or any(c.isalnum() or c.isspace() for c in delimiters)
    ):
        raise Hl7Error(
            "MSH-1/MSH-2 do not hold a field separator and 4 distinct encoding characters",
            segment="MSH",
            field=2,
        )


def _parse_text(text: str) -> Any:
    _check_delimiters(text)
    separator = text[3]
    for number, line in enumerate(text.split("\r"), start=1):
        if not _SEGMENT_ID.fullmatch(line[:3]) or (len(line) > 3 and line[3] != separator):
            raise Hl7Error(
                f"segment {number} does not start with a segment ID (3 upper-case letters "
                "or digits) followed by the field separator",
                segment="",
                code="100",
            )
    try:
        return python_hl7.parse(text)
    except (python_hl7.HL7Exception, ValueError, IndexError, AssertionError) as exc:
        raise Hl7Error(
            f"python-hl7 cannot read the message ({type(exc).__name__})", segment="MSH"
        ) from exc


def _segments(message: Any, segment_id: str) -> list[Any]:
    return [segment for segment in message if str(segment[0]) == segment_id]


def _reps(segment: Any, number: int) -> list[list[list[str]]]:
    """The raw (escaped) repetitions -> components -> sub-components of a field."""
    if number >= len(segment):
        return []
    reps: list[list[list[str]]] = []
    for rep in segment[number]:
        if isinstance(rep, str):
            reps.append([[rep]])
        else:
            reps.append([[c] if isinstance(c, str) else [str(s) for s in c] for c in rep])
    return reps


def _sub(components: Sequence[Sequence[str]], component: int, sub: int = 0) -> str:
    if component >= len(components) or sub >= len(components[component]):
        return ""
    return components[component][sub]


def _field_text(segment: Any, number: int) -> str:
    return str(segment[number]) if number < len(segment) else ""


def _value(
    message: Any, segment: Any, number: int, *, rep: int = 0, component: int = 1, sub: int = 1
) -> str:
    reps = _reps(segment, number)
    if rep >= len(reps):
        return ""
    return _unescape(message, _sub(reps[rep], component - 1, sub - 1), segment, number)


def _unescape(message: Any, raw: str, segment: Any = None, number: int | None = None) -> str:
    if raw == _HL7_NULL:
        return ""
    esc = message.esc
    if esc not in raw:
        return raw
    parts = raw.split(esc)
    if len(parts) % 2 == 0 or not all(_ESCAPE_SEQUENCE.fullmatch(s) for s in parts[1::2]):
        where = "" if segment is None else str(segment[0])
        raise Hl7Error(
            f"{where}-{number}: an escape sequence is incomplete or unknown"
            if where
            else "an escape sequence is incomplete or unknown",
            segment=where,
            field=number,
        )
    pieces: list[str] = []
    for index, part in enumerate(parts):
        if index % 2 == 0:
            pieces.append(part)
        elif part[0] == "X":
            # \Xhh..\ are bytes: python-hl7 would read each byte as a code point, which
            # breaks UTF-8 names; decode them here (UTF-8, else Latin-1).
            pieces.append(_hex_text(part[1:]).replace(esc, f"{esc}E{esc}"))
        else:
            pieces.append(f"{esc}{part}{esc}")
    return str(_hl7_unescape(message, "".join(pieces)))


def _hex_text(hex_digits: str) -> str:
    data = bytes.fromhex(hex_digits)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("latin-1")


def _header(message: Any, msh_text: str) -> MessageHeader:
    msh = message.segment("MSH")
    header = MessageHeader(
        message_type=_value(message, msh, 9),
        event=_value(message, msh, 9, component=2),
        structure=_value(message, msh, 9, component=3),
        control_id=_value(message, msh, 10),
        sending_application=_value(message, msh, 3),
        sending_facility=_value(message, msh, 4),
        receiving_application=_value(message, msh, 5),
        receiving_facility=_value(message, msh, 6),
        timestamp=_value(message, msh, 7),
        processing_id=_value(message, msh, 11),
        version=_value(message, msh, 12),
        charset=_charset(_field_text(msh, 18)),
        msh=msh_text,
    )
    if not header.message_type:
        raise Hl7Error("MSH-9 (message type) is empty", segment="MSH", field=9, code="101")
    if not header.control_id:
        raise Hl7Error("MSH-10 (message control id) is empty", segment="MSH", field=10, code="101")
    return header


def _identifiers(message: Any, segment: Any, number: int) -> tuple[PatientIdentifier, ...]:
    found: list[PatientIdentifier] = []
    for comps in _reps(segment, number):

        def value(component: int, sub: int = 0, comps: list[list[str]] = comps) -> str:
            return _unescape(message, _sub(comps, component, sub), segment, number)

        identifier = PatientIdentifier(
            value=value(0),
            namespace=value(3, 0),
            oid=value(3, 1),
            oid_type=value(3, 2),
            type_code=value(4),
            effective_date=value(6),
        )
        if identifier.value or identifier.type_code:
            found.append(identifier)
    return tuple(found)


def _identity(message: Any, pid: Any) -> PamIdentity:
    identifiers = _identifiers(message, pid, 3)
    ins, ins_date = _ins(identifiers)
    birth_name: str | None = None
    first_names: tuple[str, ...] = ()
    used_name: str | None = None
    used_first_name: str | None = None
    seen_legal = False
    for comps in _reps(pid, 5):

        def part(component: int, comps: list[list[str]] = comps) -> str:
            return _unescape(message, _sub(comps, component), pid, 5).strip()

        if part(6) == "L" and not seen_legal:
            seen_legal = True
            birth_name = part(0) or None
            first_names = _first_names(part(1), part(2))
        elif part(6) == "D" and used_name is None:
            used_name = part(0) or None
            used_first_name = part(1) or None
    birth_place = None
    for comps in _reps(pid, 11):
        if _unescape(message, _sub(comps, 6), pid, 11).strip() == "BDL":
            birth_place = _unescape(message, _sub(comps, 8), pid, 11).strip() or None
            break
    return PamIdentity(
        identifiers=identifiers,
        ins=ins,
        ins_effective_date=ins_date,
        birth_name=birth_name,
        first_names=first_names,
        used_name=used_name,
        used_first_name=used_first_name,
        birth_date=_birth_date(_value(message, pid, 7).strip()),
        sex=_value(message, pid, 8).strip() or None,
        birth_place=birth_place,
        reliability_codes=tuple(
            code
            for index in range(len(_reps(pid, 32)))
            if (code := _value(message, pid, 32, rep=index).strip())
        ),
    )


def _ins(identifiers: Iterable[PatientIdentifier]) -> tuple[Ins | None, datetime.date | None]:
    for number, identifier in enumerate(identifiers, start=1):
        if not identifier.is_ins:
            continue
        value = identifier.value.strip()
        try:
            # 13 characters + a 2-digit key: any other length is refused here.
            ins = Ins(value[:13], value[13:], identifier.oid)
        except SegurlinkError as exc:
            raise Hl7Error(
                f"PID-3 repetition {number} is an INS segurlink cannot read: {exc.message}",
                segment="PID",
                field=3,
                component=1,
            ) from None
        return ins, _cx_date(identifier.effective_date, number)
    return None, None


def _cx_date(text: str, number: int) -> datetime.date | None:
    if not text:
        return None
    match = _DTM.fullmatch(text)
    if match and match["m"] and match["d"]:
        try:
            return datetime.date(int(match["y"]), int(match["m"]), int(match["d"]))
        except ValueError:
            pass
    raise Hl7Error(
        f"PID-3 repetition {number}: CX.7 is not a date (YYYYMMDD)",
        segment="PID",
        field=3,
        component=7,
    )


def _first_names(first: str, listed: str) -> tuple[str, ...]:
    # PAM FR: XPN.2 is the first birth first name, XPN.3 the whole list (space-separated).
    # A list that does not start with XPN.2 is read as the *other* first names.
    first_words, list_words = first.split(), listed.split()
    if not list_words:
        return tuple(first_words)
    head = [w.casefold() for w in list_words[: len(first_words)]]
    if head == [w.casefold() for w in first_words]:
        return tuple(list_words)
    return tuple(first_words + list_words)


def _birth_date(text: str) -> str | None:
    if not text:
        return None
    match = _DTM.fullmatch(text)
    month, day = (match["m"] or "00", match["d"] or "00") if match else ("", "")
    if match is None or int(month) > 12 or int(day) > 31 or (month == "00" and day != "00"):
        raise Hl7Error("PID-7 is not a date (YYYY[MM[DD]])", segment="PID", field=7, code="102")
    if month != "00" and day != "00":
        try:
            datetime.date(int(match["y"]), int(month), int(day))
        except ValueError:
            raise Hl7Error("PID-7 is not a calendar date", segment="PID", field=7) from None
    return f"{match['y']}-{month}-{day}"


# -- writing ------------------------------------------------------------------------------


def escape_value(text: str, separators: str = "|^~&", escape: str = "\\") -> str:
    """``text`` with the HL7 delimiters escaped (``\\F\\ \\S\\ \\R\\ \\T\\ \\E\\``).

    ``separators`` is field, component, repetition, sub-component (MSH-1 and MSH-2 order:
    ``|`` then ``^~&``). Control characters (CR, LF...) become ``\\Xhh\\``; other
    characters are kept (the message is written in UTF-8).

    >>> escape_value("O'BRIEN|SMITH^JR & CO")
    "O'BRIEN\\\\F\\\\SMITH\\\\S\\\\JR \\\\T\\\\ CO"
    """
    field, component, repetition, subcomponent = (separators[i] for i in range(4))
    codes = {escape: "E", field: "F", component: "S", repetition: "R", subcomponent: "T"}
    out: list[str] = []
    for char in text:
        if char in codes:
            out.append(f"{escape}{codes[char]}{escape}")
        elif ord(char) < 0x20 or ord(char) == 0x7F:
            out.append(f"{escape}X{ord(char):02X}{escape}")
        else:
            out.append(char)
    return "".join(out)


def _escape_separators(text: str, python_hl7_separators: str, escape: str) -> str:
    # python-hl7 orders its separators segment, field, repetition, component, sub-component.
    field, repetition, component, subcomponent = (python_hl7_separators[i] for i in (1, 2, 3, 4))
    return escape_value(text, field + component + repetition + subcomponent, escape)


def hl7_datetime(moment: datetime.datetime) -> str:
    """``YYYYMMDDHHMMSS`` (HL7 DTM, local time of ``moment``, as the PAM FR samples)."""
    return moment.strftime("%Y%m%d%H%M%S")


def build_identity_update(
    message: PamMessage,
    update: IdentityUpdate,
    *,
    control_id: str,
    now: datetime.datetime,
    event: str = "A31",
    application: str = "SEGURLINK",
    facility: str = "",
) -> bytes:
    """The result of a qualification as an HL7 message (UTF-8, ``\\r`` between segments).

    PID-3: the INS repetition is replaced (or appended) with the INS of ``update`` and its
    assigning authority (``ASIP-SANTE-INS-NIR&<OID>&ISO^INS``), or removed when ``update``
    carries no INS (only a ``QUAL`` identity carries it). PID-5: the ``L`` repetition takes
    the reference traits (birth name, first birth first name, list of birth first names).
    PID-32: the RNIV status replaces the status code; the other codes are kept.

    ``event`` ``A28``/``A31`` writes the person structure (``ADT_A05``: MSH, EVN, PID, PD1,
    ROL, NK1, ``PV1|1|N``, ZFD); any other supported event keeps every segment of the
    received message. MSH-3/4 are ``application``/``facility``, MSH-5/6 those of the
    received message, MSH-10 ``control_id``.
    """
    if event not in EVENT_STRUCTURES:
        raise Hl7Error(
            f"segurlink writes the events {', '.join(EVENT_STRUCTURES)}, not {event[:8]!r}",
            segment="MSH",
            field=9,
            code="201",
        )
    source = _parse_text(message.text)
    if event in ("A40", "A47") and not _segments(source, "MRG"):
        raise Hl7Error(
            f"an {event} needs the MRG segment the received message does not have",
            segment="MRG",
            code="100",
        )
    separators, esc = source.separators, source.esc
    _, _, rep_sep, comp_sep, sub_sep = separators

    def esc_(text: str) -> str:
        return _escape_separators(text, separators, esc)

    msh = source.segment("MSH")
    stamp = hl7_datetime(now)
    msh.assign_field(esc_(application), 3)
    msh.assign_field(esc_(facility), 4)
    msh.assign_field(stamp, 7)
    msh.assign_field(comp_sep.join(("ADT", event, EVENT_STRUCTURES[event])), 9)
    msh.assign_field(esc_(control_id), 10)
    msh.assign_field(UTF8, 18)

    pid = _segments(source, "PID")[0]
    pid.assign_field(_pid3(source, pid, update, esc_, rep_sep, comp_sep, sub_sep), 3)
    pid.assign_field(_pid5(pid, update, esc_, rep_sep, comp_sep, sub_sep), 5)
    codes = [c for c in _reliability_codes(source, pid) if c not in _STATUS_CODES]
    pid.assign_field(rep_sep.join([update.status.value, *(esc_(c) for c in codes)]), 32)

    segments: list[Any] = [msh, _new_segment(source, ["EVN", "", stamp]), pid]
    if event in PERSON_EVENTS:
        # Patient-level segments (before the visit), then a "not applicable" visit.
        before_visit = []
        for segment in source:
            if str(segment[0]) == "PV1":
                break
            if str(segment[0]) in ("PD1", "ROL", "NK1"):
                before_visit.append(segment)
        pv1 = _new_segment(source, ["PV1", "1", "N"])
        segments += [*before_visit, pv1, *_segments(source, "ZFD")]
    else:
        segments += [s for s in source if str(s[0]) not in ("MSH", "EVN", "PID")]
    return str(source.create_message(segments)).encode("utf-8")


def _reliability_codes(message: Any, pid: Any) -> list[str]:
    return [
        code
        for index in range(len(_reps(pid, 32)))
        if (code := _value(message, pid, 32, rep=index).strip())
    ]


def _pid3(
    message: Any,
    pid: Any,
    update: IdentityUpdate,
    esc_: Any,
    rep_sep: str,
    comp_sep: str,
    sub_sep: str,
) -> str:
    ins_rep = None
    if update.ins is not None:
        authority = sub_sep.join(
            (esc_(INS_NAMESPACES[update.ins.oid]), esc_(update.ins.oid), "ISO")
        )
        date = update.ins_effective_date.strftime("%Y%m%d") if update.ins_effective_date else ""
        ins_rep = comp_sep.join((esc_(update.ins.value), "", "", authority, "INS", "", date))
        ins_rep = ins_rep.rstrip(comp_sep)
    kept: list[str] = []
    placed = False
    for comps in _reps(pid, 3):
        # parse_message read this PID-3 already: its escapes are valid.
        oid, type_code = _unescape(message, _sub(comps, 3, 1)), _unescape(message, _sub(comps, 4))
        if PatientIdentifier(value="", oid=oid, type_code=type_code).is_ins:
            if ins_rep is not None and not placed:
                kept.append(ins_rep)
            placed = True
            continue
        kept.append(comp_sep.join(sub_sep.join(c) for c in comps))
    if ins_rep is not None and not placed:
        kept.append(ins_rep)
    return rep_sep.join(r for r in kept if r)


def _pid5(
    pid: Any, update: IdentityUpdate, esc_: Any, rep_sep: str, comp_sep: str, sub_sep: str
) -> str:
    traits = update.traits
    names = (esc_(traits.birth_name), esc_(traits.first_name), esc_(traits.first_names_text))
    reps: list[str] = []
    replaced = False
    for comps in _reps(pid, 5):
        raw = [sub_sep.join(c) for c in comps]
        if not replaced and len(raw) > 6 and raw[6] == "L":
            raw[0:3] = names
            replaced = True
        reps.append(comp_sep.join(raw))
    if not replaced:
        reps.insert(0, comp_sep.join((*names, "", "", "", "L")))
    return rep_sep.join(reps)


# -- acknowledgements -----------------------------------------------------------------------

_ERROR_LABELS: Final[dict[str, str]] = {
    "0": "Message accepted",
    "100": "Segment sequence error",
    "101": "Required field missing",
    "102": "Data type error",
    "103": "Table value not found",
    "200": "Unsupported message type",
    "201": "Unsupported event code",
    "202": "Unsupported processing id",
    "203": "Unsupported version id",
    "204": "Unknown key identifier",
    "205": "Duplicate key identifier",
    "198": "Non-conformant cardinality",
    "199": "Other HL7 Error",
    "206": "Application record locked",
    "207": "Application internal error",
}
_ACK_TEMPLATE = "MSH|^~\\&|{app}|{facility}|||{now}||ACK|{control_id}|P|2.5"


def build_ack(
    header: MessageHeader | None,
    code: AckCode,
    errors: Sequence[AckError] = (),
    *,
    control_id: str,
    now: datetime.datetime,
    application: str | None = None,
    facility: str | None = None,
    text: str = "",
    error_system: str = "HL70357",
    application_system: str = "SEGURLINK",
) -> bytes:
    """The ``ACK`` of a received message: MSH, ``MSA|code|<its MSH-10>``, one ``ERR`` each.

    MSH is python-hl7's ``create_ack`` of the received MSH (sender and receiver swapped,
    MSH-9 ``ACK^<event>^ACK``, MSH-11 and MSH-12 echoed), with MSH-17 and MSH-18 echoed
    too. When the received MSH could not be read (``header`` None) the ACK has an empty
    MSA-2. ``application``/``facility`` default to the receiver named in the received MSH.
    ``ERR-3`` is ``<code>^<label>^<error_system>`` (HL7 table 0357) and ``ERR-5``
    ``<application_code>^<application_label>^<application_system>``: ANS's guides name
    the tables ``messageErrorCondition`` and ``applicationErrorCode``.

    >>> from segurlink.hl7 import parse_ack
    >>> ack = build_ack(None, AckCode.AR, [AckError("100", "no MSH")],
    ...                 control_id="1", now=datetime.datetime(2024, 1, 1))
    >>> parse_ack(ack).code, parse_ack(ack).errors[0].code
    (<AckCode.AR: 'AR'>, '100')
    """
    if header is not None:
        source = _parse_text(header.msh)

        def esc_(text: str) -> str:
            return _escape_separators(text, source.separators, source.esc)

        ack = source.create_ack(
            ack_code=code.value,
            message_id=esc_(control_id),
            application=None if application is None else esc_(application),
            facility=None if facility is None else esc_(facility),
        )
        ack.segment("MSH").assign_field(hl7_datetime(now), 7)
        for number in (17, 18):  # country code, character set
            value = _field_text(source.segment("MSH"), number)
            if value:
                ack.segment("MSH").assign_field(value, number)
    else:
        ack = python_hl7.parse(
            _ACK_TEMPLATE.format(
                app=escape_value(application or "SEGURLINK"),
                facility=escape_value(facility or ""),
                now=hl7_datetime(now),
                control_id=escape_value(control_id),
            )
            + f"\rMSA|{code.value}"
        )
    esc = ack.esc
    if text:
        ack.segment("MSA").assign_field(_escape_separators(text, ack.separators, esc), 3)
    segments = [
        *ack,
        *(_err_segment(ack, error, error_system, application_system) for error in errors),
    ]
    encoding = _CODECS.get(header.charset if header is not None else "", "utf-8")
    return str(ack.create_message(segments)).encode(encoding, "replace")


def _new_segment(message: Any, fields: list[str]) -> Any:
    """A python-hl7 segment with ``message``'s delimiters; ``fields`` are already escaped."""
    msh = message.segment("MSH")
    field_sep = str(msh[1])
    text = f"MSH{field_sep}{msh[2]}\r" + field_sep.join(fields).rstrip(field_sep)
    return python_hl7.parse(text)[1]


def _err_segment(ack: Any, error: AckError, error_system: str, application_system: str) -> Any:
    _, _, _, comp, _ = ack.separators

    def esc_(text: str) -> str:
        return _escape_separators(text, ack.separators, ack.esc)

    location = ""
    if error.segment:
        parts = [esc_(error.segment), str(error.sequence)]
        if error.field is not None:
            parts.append(str(error.field))
            if error.component is not None:
                parts += ["1", str(error.component)]
        location = comp.join(parts)
    label = _ERROR_LABELS.get(error.code, "")
    application_code = (
        comp.join(
            (
                esc_(error.application_code),
                esc_(error.application_label),
                esc_(application_system),
            )
        )
        if error.application_code
        else ""
    )
    return _new_segment(
        ack,
        [
            "ERR",
            "",
            location,
            comp.join((esc_(error.code), label, esc_(error_system))),
            esc_(error.severity),
            application_code,
            "",
            "",
            esc_(error.message),
        ],
    )


#: The former name of :func:`parse_header` (parsers are named ``parse_*``).
read_header = parse_header
