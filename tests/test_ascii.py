"""Numbers read from text are ASCII digits everywhere, not whatever ``str.isdigit()`` likes.

``"４２".isdigit()`` is true and ``int("４２")`` is 42: each place that used ``isdigit()`` or
``\\d`` before ``int()`` now takes ASCII digits only (see ``segurlink._ascii``).
"""

from __future__ import annotations

import pytest
from lxml import etree

from segurlink._ascii import describe_non_ascii, is_ascii_digits
from segurlink._retry import parse_retry_after
from segurlink.cda import build_document, parse_header
from segurlink.cda._description import document_from_description
from segurlink.dmp.messages import _entry
from segurlink.dmp.metadata import RIM_NS
from segurlink.errors import InputError
from segurlink.psc.models import ProfessionalIdentity
from tests.cda.factory import PDF, make_document

FULL_WIDTH_42 = "４２"
ARABIC_INDIC_42 = "٤٢"


@pytest.mark.parametrize(
    ("text", "expected"),
    [("0", True), ("0123456789", True), ("", False), (" 1", False), ("1.0", False),
     (FULL_WIDTH_42, False), (ARABIC_INDIC_42, False), ("²", False), ("4٢", False)],
)  # fmt: skip
def test_is_ascii_digits(text: str, expected: bool) -> None:
    assert is_ascii_digits(text) is expected


def test_describe_non_ascii_names_the_first_one_only() -> None:
    assert describe_non_ascii("ab٤c４") == "character 3 is '٤' (U+0664 ARABIC-INDIC DIGIT FOUR)"
    assert describe_non_ascii("") is None


def test_a_character_without_a_unicode_name_is_said_unnamed() -> None:
    # U+E000 is a private-use character: unicodedata knows no name for it.
    assert describe_non_ascii("12\ue0003") == (
        "character 3 is '\\ue000' (U+E000 unnamed character)"
    )


@pytest.mark.parametrize("digits", [FULL_WIDTH_42, ARABIC_INDIC_42])
def test_psc_rpps_is_derived_from_ascii_digits_only(digits: str) -> None:
    assert ProfessionalIdentity(national_id="810001234567").rpps == "10001234567"
    assert ProfessionalIdentity(national_id="8100012345" + digits).rpps is None


def test_retry_after_reads_ascii_seconds_only() -> None:
    assert parse_retry_after("42") == 42.0
    # Not seconds, nor an HTTP date: no demand (the policy's backoff applies).
    assert parse_retry_after(FULL_WIDTH_42) is None
    assert parse_retry_after(ARABIC_INDIC_42) is None
    assert parse_retry_after("²") is None


def _extrinsic_object(size: str) -> etree._Element:
    rim = f"{{{RIM_NS}}}"
    eo = etree.Element(f"{rim}ExtrinsicObject", id="urn:uuid:1", mimeType="text/xml")
    slot = etree.SubElement(eo, f"{rim}Slot", name="size")
    etree.SubElement(etree.SubElement(slot, f"{rim}ValueList"), f"{rim}Value").text = size
    etree.SubElement(
        eo,
        f"{rim}ExternalIdentifier",
        identificationScheme="urn:uuid:2e82c1f6-a085-4c72-9da3-8640a32e42ab",
        value="1.2.3^4",
    )
    return eo


def test_dmp_entry_size_is_read_from_ascii_digits_only() -> None:
    assert _entry(_extrinsic_object("1234")).size == 1234
    assert _entry(_extrinsic_object("12" + FULL_WIDTH_42)).size is None


def test_read_header_reads_ascii_version_numbers_only() -> None:
    xml = build_document(make_document())
    assert parse_header(xml).version == 1
    broken = xml.replace(b'<versionNumber value="1"/>', '<versionNumber value="１"/>'.encode())
    assert parse_header(broken).version is None


DESCRIPTION = {
    "type": "PPA",
    "effective_time": "2024-03-01T10:30:00+01:00",
    "structure": {"finess": "010000016", "name": "EHPAD"},
    "patient": {"birth_name": "ADRUN", "first_names": "ZOE", "sex": "F",
                "birth_date": "1975-12-31", "ipp": {"root": "1.2.3", "extension": "IPP1"}},
    "author": {"rpps": "10001234567", "family": "BLEEDER",
               "profession": {"code": "G15_60", "display": "Infirmier"}},
    "legal_authenticator": {"rpps": "10009876543", "family": "CAMPARINI",
                            "profession": {"code": "G15_10/SM26"}},
}  # fmt: skip


@pytest.mark.parametrize("version", [2, "2", " 2 "])
def test_description_version_is_a_whole_number(version: object) -> None:
    document = document_from_description({**DESCRIPTION, "version": version}, PDF)
    assert document.version == 2


@pytest.mark.parametrize("version", ["２", "٢", "two", "2.0", True, 0, -1, "0", 2.5])
def test_description_version_refuses_anything_else(version: object) -> None:
    with pytest.raises(InputError, match="version"):
        document_from_description({**DESCRIPTION, "version": version}, PDF)
