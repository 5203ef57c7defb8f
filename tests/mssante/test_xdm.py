"""The IHE_XDM.ZIP as written (ITI-32) and every refusal of the reader, whole.

test_messages.py holds the XDM features (read back, zip slip, bombs, XXE); here each
entry of the archive is held as written, and each refusal with what it says.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import io
import stat
import zipfile
from typing import Any

import pytest
from lxml import etree

from segurlink.cda import parse_header
from segurlink.cda.models import Code
from segurlink.dmp.metadata import (
    default_associations,
    document_entry_from_header,
    submission_set_for,
)
from segurlink.errors import InputError, XdmError
from segurlink.mssante import XdmLimits, parse_xdm
from segurlink.mssante.xdm import build_xdm, document_file_name
from tests.dmp.factory import cda

SENDER = "dui-ehpad@segurlink-test.mssante.fr"
NOW = dt.datetime(2024, 3, 2, 9, 0, tzinfo=dt.UTC)
RIM = "urn:oasis:names:tc:ebxml-regrep:xsd:rim:3.0"
LCM = "urn:oasis:names:tc:ebxml-regrep:xsd:lcm:3.0"


def _xdm(documents: list[bytes], *, titles: list[str] | None = None, when: dt.datetime = NOW,
         **readme: str) -> bytes:  # fmt: skip
    entries = []
    for n, document in enumerate(documents, 1):
        entry = document_entry_from_header(parse_header(document), document)
        entry = dataclasses.replace(entry, entry_id=f"Document{n:02d}", uri=document_file_name(n))
        if titles is not None:
            entry = dataclasses.replace(entry, title=titles[n - 1])
        entries.append(entry)
    submission = submission_set_for(
        entries,
        unique_id="2.25.1",
        source_id="1.2.250.1.999.1",
        submission_time=NOW,
        content_type=Code("04", "1.2.250.1.213.2.2"),
    )
    options = {"application": "MonDUI", "version": "4.2", "vendor": "Editeur"} | readme
    return build_xdm(
        submission,
        entries,
        documents,
        default_associations(submission, entries),
        created=when,
        sender=SENDER,
        **options,
    )


def _members(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def _zip(entries: dict[str, bytes], *, compression: int = zipfile.ZIP_DEFLATED) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression) as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
    return buffer.getvalue()


# -- writing -------------------------------------------------------------------------------------


def test_the_archive_entries_as_written() -> None:
    first, second = cda(), cda(seed=2)
    data = _xdm([first, second], titles=['CR <urgent> & "suite"', ""])
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        infos = archive.infolist()
    assert [i.filename for i in infos] == [
        "README.TXT",
        "INDEX.HTM",
        "IHE_XDM/SUBSET01/METADATA.XML",
        "IHE_XDM/SUBSET01/DOC0001.XML",
        "IHE_XDM/SUBSET01/DOC0002.XML",
    ]
    for info in infos:
        assert info.date_time == (2024, 3, 2, 9, 0, 0)
        assert info.compress_type == zipfile.ZIP_DEFLATED
        assert (info.create_system, info.external_attr >> 16) == (3, stat.S_IFREG | 0o644)
    members = _members(data)
    assert members["IHE_XDM/SUBSET01/DOC0001.XML"] == first
    assert members["IHE_XDM/SUBSET01/DOC0002.XML"] == second
    assert (
        members["README.TXT"]
        == (
            "IHE XDM - Distribute Document Set on Media (ITI-32)\r\n\r\n"
            f"Sender: {SENDER}\r\nApplication: MonDUI\r\nVersion: 4.2\r\nVendor: Editeur\r\n\r\n"
            "Content: IHE_XDM/SUBSET01/METADATA.XML describes the documents of the subset.\r\n"
        ).encode()
    )
    assert members["INDEX.HTM"].decode("utf-8") == (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<html xmlns="http://www.w3.org/1999/xhtml" xml:lang="fr">\n'
        "  <head><title>IHE XDM</title></head>\n"
        "  <body>\n"
        '    <p><a href="README.TXT">README.TXT</a></p>\n'
        '    <p><a href="IHE_XDM/SUBSET01/METADATA.XML">METADATA.XML</a></p>\n'
        "    <ul>\n"
        '    <li><a href="IHE_XDM/SUBSET01/DOC0001.XML">'
        "CR &lt;urgent&gt; &amp; &quot;suite&quot;</a></li>\n"
        '    <li><a href="IHE_XDM/SUBSET01/DOC0002.XML">DOC0002.XML</a></li>\n'
        "    </ul>\n"
        "  </body>\n"
        "</html>\n"
    )
    metadata = members["IHE_XDM/SUBSET01/METADATA.XML"]
    assert metadata.startswith(b"<?xml version='1.0' encoding='UTF-8'?>\n<lcm:SubmitObjectsRequest")
    assert etree.fromstring(metadata).tag == f"{{{LCM}}}SubmitObjectsRequest"


def test_zip_times_start_in_1980() -> None:
    old = dt.datetime(1975, 12, 31, 23, 59, 58, tzinfo=dt.UTC)
    with zipfile.ZipFile(io.BytesIO(_xdm([cda()], when=old))) as archive:
        assert {i.date_time for i in archive.infolist()} == {(1980, 12, 31, 23, 59, 58)}


def test_one_entry_per_document() -> None:
    document = cda()
    entry = document_entry_from_header(parse_header(document), document)
    submission = submission_set_for(
        [entry], unique_id="2.25.1", source_id="1.2", submission_time=NOW,
        content_type=Code("04", "1.2.250.1.213.2.2"),
    )  # fmt: skip
    for entries, documents in (([entry], []), ([], []), ([entry, entry], [document])):
        with pytest.raises(InputError) as info:
            build_xdm(submission, entries, documents, (), created=NOW, sender=SENDER,
                      application="a", version="v", vendor="e")  # fmt: skip
        assert str(info.value) == "one DocumentEntry per document, and at least one document"


@pytest.mark.parametrize(("index", "name"), [(1, "DOC0001.XML"), (42, "DOC0042.XML"),
                                             (9999, "DOC9999.XML")])  # fmt: skip
def test_document_file_names(index: int, name: str) -> None:
    assert document_file_name(index) == name


@pytest.mark.parametrize("index", [0, 10000])
def test_a_subset_holds_1_to_9999_documents(index: int) -> None:
    with pytest.raises(InputError) as info:
        document_file_name(index)
    assert str(info.value) == "an XDM subset holds 1 to 9999 documents"


# -- reading: each entry of METADATA.XML, field by field ---------------------------------------


def test_every_field_of_an_entry_read_back() -> None:
    document = cda()
    members = _members(_xdm([document]))
    metadata = members["IHE_XDM/SUBSET01/METADATA.XML"]
    # an upper-case hash and an action slot, as other senders write them
    digest = etree.fromstring(metadata).find(
        f".//{{{RIM}}}Slot[@name='hash']/{{{RIM}}}ValueList/{{{RIM}}}Value"
    )
    assert digest is not None and digest.text is not None
    metadata = metadata.replace(digest.text.encode(), digest.text.upper().encode())
    metadata = metadata.replace(
        b'<rim:Slot name="URI">',
        b'<rim:Slot name="action"><rim:ValueList><rim:Value> C </rim:Value></rim:ValueList>'
        b'</rim:Slot><rim:Slot name="URI">',
    )
    members["IHE_XDM/SUBSET01/METADATA.XML"] = metadata
    package = parse_xdm(_zip(members))
    (read,) = package.documents
    entry = read.entry
    assert (entry.entry_id, entry.unique_id, entry.uri, entry.mime_type) == (
        "Document01", "2.25.1000", "DOC0001.XML", "text/xml",
    )  # fmt: skip
    assert entry.patient_id == "275126322074974^^^&1.2.250.1.213.1.4.8&ISO^NH"
    assert entry.title == "Projet personnalisé d'accompagnement"
    assert (entry.type_code, entry.class_code, entry.format_code) == (
        "80788-3", "44", "urn:ihe:iti:xds-sd:pdf:2008",
    )  # fmt: skip
    assert (entry.creation_time, entry.hash, entry.size, entry.action) == (
        "20240301093000", digest.text.lower(), len(document), "C",
    )  # fmt: skip
    assert (package.source_id, package.submission_unique_id, package.submission_time) == (
        "1.2.250.1.999.1", "2.25.1", "20240302090000",
    )  # fmt: skip
    assert package.readme.startswith("IHE XDM - Distribute Document Set on Media (ITI-32)\r\n")


def _without(metadata: bytes, *paths: str) -> bytes:
    root = etree.fromstring(metadata)
    for path in paths:
        for node in root.xpath(path, namespaces={"rim": RIM}):
            if isinstance(node, etree._Element):
                node.getparent().remove(node)
            else:  # an attribute
                del node.getparent().attrib[node.attrname]
    return etree.tostring(root)


def test_a_sparse_entry_reads_as_empty_values() -> None:
    members = _members(_xdm([cda()]))
    key = "IHE_XDM/SUBSET01/METADATA.XML"
    eo = "//rim:ExtrinsicObject"
    members[key] = _without(
        members[key],
        f"{eo}/rim:Name",
        f"{eo}/rim:Classification",
        f"{eo}/rim:ExternalIdentifier",
        f"{eo}/rim:Slot[@name='creationTime' or @name='hash' or @name='size']",
        f"{eo}/@mimeType",
        f"{eo}/@id",
    )
    members[key] = members[key].replace(b"<rim:Value>DOC0001.XML", b"<rim:Value>  DOC0001.XML")
    (read,) = parse_xdm(_zip(members)).documents
    entry = read.entry
    assert (entry.entry_id, entry.unique_id, entry.patient_id, entry.mime_type, entry.title) == (
        "", "", "", "", "",
    )  # fmt: skip
    assert (entry.type_code, entry.class_code, entry.format_code, entry.creation_time) == (
        "", "", "", "",
    )  # fmt: skip
    assert (entry.uri, entry.hash, entry.size, entry.action) == ("DOC0001.XML", "", None, "")


def test_a_size_that_is_not_a_number_is_no_size() -> None:
    members = _members(_xdm([cda()]))
    key = "IHE_XDM/SUBSET01/METADATA.XML"
    size = str(len(members["IHE_XDM/SUBSET01/DOC0001.XML"])).encode()
    for written in (b"-" + size, "１２".encode()):
        members[key] = _members(_xdm([cda()]))[key].replace(
            b"<rim:Value>" + size + b"</rim:Value>", b"<rim:Value>" + written + b"</rim:Value>"
        )
        assert parse_xdm(_zip(members)).documents[0].entry.size is None


def test_the_submission_set_of_a_sparse_metadata_reads_as_empty_values() -> None:
    members = _members(_xdm([cda()]))
    key = "IHE_XDM/SUBSET01/METADATA.XML"
    members[key] = _without(
        members[key],
        "//rim:RegistryPackage/rim:ExternalIdentifier",
        "//rim:RegistryPackage/rim:Slot",
    )
    del members["README.TXT"]
    package = parse_xdm(_zip(members))
    assert (package.submission_unique_id, package.source_id, package.patient_id) == ("", "", "")
    assert (package.submission_time, package.readme) == ("", "")


def test_a_readme_that_is_not_utf8_is_read_anyway() -> None:
    members = _members(_xdm([cda()]))
    members["README.TXT"] = "Émetteur: DUI".encode("latin-1")
    assert parse_xdm(_zip(members)).readme == "\ufffdmetteur: DUI"


# -- reading: where documents are, and what is refused ------------------------------------------


def test_a_uri_is_found_in_the_subset_then_ihe_xdm_then_the_root() -> None:
    members = _members(_xdm([cda()]))
    document = members.pop("IHE_XDM/SUBSET01/DOC0001.XML")
    for where in ("IHE_XDM/DOC0001.XML", "DOC0001.XML", "ihe_xdm/subset01/doc0001.xml"):
        assert parse_xdm(_zip({**members, where: document})).documents[0].content == document
    # the subset's own copy wins over one at the root
    both = {**members, "IHE_XDM/SUBSET01/DOC0001.XML": document, "DOC0001.XML": b"other"}
    assert parse_xdm(_zip(both)).documents[0].content == document


def test_the_first_subset_is_read_and_deeper_metadata_ignored() -> None:
    members = _members(_xdm([cda()]))
    renamed = {k.replace("SUBSET01", "SUBSET02"): v for k, v in members.items()}
    renamed["IHE_XDM/SUBSET02/DEEP/METADATA.XML"] = b"<not-read/>"
    assert parse_xdm(_zip({**members, **renamed})).subset == "IHE_XDM/SUBSET01"
    assert parse_xdm(_zip(renamed)).subset == "IHE_XDM/SUBSET02"


LONG = "IHE_XDM/" + "X" * 100


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("", "unsafe file name in the XDM archive: ''"),
        ("IHE_XDM/A\x00B", "unsafe file name in the XDM archive: 'IHE_XDM/A\\x00B'"),
        ("/etc/passwd", "absolute path in the XDM archive: '/etc/passwd'"),
        ("C:", "absolute path in the XDM archive: 'C:'"),
        ("IHE_XDM/../x", "'..' in a file name of the XDM archive: 'IHE_XDM/../x'"),
        (LONG + "/../x", f"'..' in a file name of the XDM archive: {(LONG + '/../x')[:80]!r}"),
    ],
)
def test_unsafe_names_are_refused_with_the_name_cut_short(name: str, message: str) -> None:
    from segurlink.mssante.xdm import _safe_name

    with pytest.raises(XdmError) as info:
        _safe_name(name)
    assert str(info.value) == message


def test_names_are_normalised() -> None:
    from segurlink.mssante.xdm import _safe_name

    assert _safe_name("IHE_XDM/./SUBSET01//DOC0001.XML") == "IHE_XDM/SUBSET01/DOC0001.XML"
    assert _safe_name("C") == "C"


def _with_info(members: dict[str, bytes], info: zipfile.ZipInfo, data: bytes) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in members.items():
            archive.writestr(name, content)
        archive.writestr(info, data)
    return buffer.getvalue()


def test_a_symbolic_link_is_refused_and_a_folder_skipped() -> None:
    members = _members(_xdm([cda()]))
    link = zipfile.ZipInfo("IHE_XDM/SUBSET01/LINK")
    link.create_system = 3
    link.external_attr = (stat.S_IFLNK | 0o777) << 16
    with pytest.raises(XdmError) as info:
        parse_xdm(_with_info(members, link, b"/etc/passwd"))
    assert str(info.value) == "symbolic link in the XDM archive: 'IHE_XDM/SUBSET01/LINK'"
    # the same mode bits from another system are not a link
    link.create_system = 0
    assert parse_xdm(_with_info(members, link, b"x")).subset == "IHE_XDM/SUBSET01"
    folder = zipfile.ZipInfo("IHE_XDM/SUBSET01/EMPTY/")
    assert len(parse_xdm(_with_info(members, folder, b"")).documents) == 1


def test_the_limits_are_inclusive_and_say_so() -> None:
    members = _members(_xdm([cda()]))
    stored = _zip(members, compression=zipfile.ZIP_STORED)
    sizes = {name: len(content) for name, content in members.items()}
    biggest, total = max(sizes.values()), sum(sizes.values())
    assert parse_xdm(stored, limits=XdmLimits(max_entries=4, max_entry_size=biggest,
                                              max_total_size=total, max_ratio=1))  # fmt: skip
    cases: list[tuple[XdmLimits, str]] = [
        (XdmLimits(max_entries=3), "the XDM archive has 4 entries (limit 3)"),
        (XdmLimits(max_entry_size=biggest - 1), f"would be {biggest} bytes (limit {biggest - 1})"),
        (XdmLimits(max_total_size=total - 1), f"the XDM archive expands beyond {total - 1} bytes"),
    ]
    for limits, message in cases:
        with pytest.raises(XdmError) as info:
            parse_xdm(stored, limits=limits)
        assert message in str(info.value)


def test_a_ratio_beyond_the_limit_is_a_zip_bomb() -> None:
    members = _members(_xdm([cda()]))
    members["IHE_XDM/SUBSET01/PAD.TXT"] = b"\0" * 100_000
    with pytest.raises(XdmError) as info:
        parse_xdm(_zip(members), limits=XdmLimits(max_ratio=50))
    assert str(info.value) == "'IHE_XDM/SUBSET01/PAD.TXT' is compressed beyond 50:1 (zip bomb)"


def test_an_entry_twice_in_any_case_is_refused() -> None:
    members = _members(_xdm([cda()]))
    members["ihe_xdm/subset01/doc0001.xml"] = b"again"
    with pytest.raises(XdmError) as info:
        parse_xdm(_zip(members))
    assert str(info.value) == "duplicate entry in the XDM archive: 'ihe_xdm/subset01/doc0001.xml'"


def test_a_corrupt_entry_cannot_be_extracted() -> None:
    data = bytearray(_zip(_members(_xdm([cda()])), compression=zipfile.ZIP_STORED))
    marker = data.find(b"IHE XDM - Distribute")
    data[marker] ^= 0x01  # README bytes changed: the CRC no longer matches
    with pytest.raises(XdmError) as info:
        parse_xdm(bytes(data))
    assert str(info.value).startswith("'README.TXT' cannot be extracted: ")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda m: m.pop("IHE_XDM/SUBSET01/METADATA.XML"),
         "the archive has no IHE_XDM/<subset>/METADATA.XML"),
        (lambda m: m.update({"IHE_XDM/SUBSET01/METADATA.XML": b"<other/>"}),
         "METADATA.XML is not an ebRIM SubmitObjectsRequest"),
        (lambda m: m.update({"IHE_XDM/SUBSET01/METADATA.XML": _without(
            m["IHE_XDM/SUBSET01/METADATA.XML"], "//rim:ExtrinsicObject")}),
         "METADATA.XML describes no document"),
        (lambda m: m.update({"IHE_XDM/SUBSET01/METADATA.XML": _without(
            m["IHE_XDM/SUBSET01/METADATA.XML"], "//rim:RegistryPackage")}),
         "METADATA.XML has no SubmissionSet (RegistryPackage)"),
        (lambda m: m.update({"IHE_XDM/SUBSET01/METADATA.XML": _without(
            m["IHE_XDM/SUBSET01/METADATA.XML"], "//rim:Slot[@name='URI']")}),
         "a DocumentEntry of METADATA.XML has no URI slot"),
        (lambda m: m.pop("IHE_XDM/SUBSET01/DOC0001.XML"),
         "METADATA.XML names 'DOC0001.XML', which is not in the archive"),
        (lambda m: m.update({"IHE_XDM/SUBSET01/DOC0001.XML": b"short"}),
         "'DOC0001.XML' is 5 bytes, METADATA says "),
    ],
    ids=["no-metadata", "not-ebrim", "no-document", "no-submission-set", "no-uri",
         "missing-document", "size"],
)  # fmt: skip
def test_unusable_archives_say_why(change: Any, message: str) -> None:
    members = _members(_xdm([cda()]))
    change(members)
    with pytest.raises(XdmError) as info:
        parse_xdm(_zip(members))
    # a message ending with a space continues with the number found
    assert (
        str(info.value).startswith(message)
        if message.endswith(" ")
        else (str(info.value) == message)
    )


def test_not_a_zip_says_so_and_metadata_errors_name_metadata() -> None:
    with pytest.raises(XdmError) as info:
        parse_xdm(b"PK not really")
    assert str(info.value).startswith("not a readable zip archive: ")
    members = _members(_xdm([cda()]))
    members["IHE_XDM/SUBSET01/METADATA.XML"] = b"<unclosed"
    from segurlink.errors import MalformedResponse

    with pytest.raises(MalformedResponse) as info2:
        parse_xdm(_zip(members))
    assert "METADATA.XML" in str(info2.value)


def test_a_hash_that_differs_says_which_document() -> None:
    members = _members(_xdm([cda()]))
    document = bytearray(members["IHE_XDM/SUBSET01/DOC0001.XML"])
    document[-3] = ord("X") if document[-3] != ord("X") else ord("Y")
    members["IHE_XDM/SUBSET01/DOC0001.XML"] = bytes(document)
    with pytest.raises(XdmError) as info:
        parse_xdm(_zip(members))
    assert str(info.value) == "the SHA-1 of 'DOC0001.XML' differs from METADATA.XML"


def test_names_in_refusals_are_cut_at_80_characters() -> None:
    long = "IHE_XDM/SUBSET01/" + "N" * 100
    shown = repr(long[:80])
    members = _members(_xdm([cda()]))
    link = zipfile.ZipInfo(long)
    link.create_system = 3
    link.external_attr = (stat.S_IFLNK | 0o777) << 16
    with pytest.raises(XdmError) as info:
        parse_xdm(_with_info(members, link, b"x"))
    assert str(info.value) == f"symbolic link in the XDM archive: {shown}"
    with pytest.raises(XdmError) as info:
        parse_xdm(_zip({**members, long: b"a", long.lower(): b"b"}))
    assert str(info.value) == f"duplicate entry in the XDM archive: {long.lower()[:80]!r}"
    with pytest.raises(XdmError) as info:
        parse_xdm(_zip({**members, long: b"\0" * 100_000}), limits=XdmLimits(max_ratio=50))
    assert str(info.value) == f"{shown} is compressed beyond 50:1 (zip bomb)"
    with pytest.raises(XdmError) as info:
        parse_xdm(_zip({long: b"x" * 50, **members}), limits=XdmLimits(max_entry_size=40))
    assert str(info.value) == f"{shown} would be 50 bytes (limit 40)"
