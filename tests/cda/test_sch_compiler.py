"""The segurlink schematron compiler's XPath helpers (pure: no kit, no Saxon)."""

from __future__ import annotations

import pytest
from lxml import etree

from segurlink.cda._sch_compiler import (
    Unsupported,
    _fast_match,
    _top_level_split,
    _witnesses,
    variables_in,
)
from segurlink.cda._schematron import document_shape

NS = {"cda": "urn:hl7-org:v3", "hl7": "urn:hl7-org:v3"}
H = "{urn:hl7-org:v3}"


def _rule(context: str) -> etree._Element:
    return etree.Element("rule", context=context)


def test_split_ignores_separators_inside_literals_and_predicates() -> None:
    assert _top_level_split("a[x='|/'] | b/c//d", ("|",)) == [("", "a[x='|/'] "), ("|", " b/c//d")]
    assert _top_level_split("//a[x='/']/b//c[d/e]", ("//", "/")) == [
        ("", ""),
        ("//", "a[x='/']"),
        ("/", "b"),
        ("//", "c[d/e]"),
    ]
    for broken in ("a[", "a'b", "a)"):
        with pytest.raises(Unsupported):
            _top_level_split(broken, ("|",))


def test_variables_outside_string_literals() -> None:
    assert variables_in("$a + '$b' + \"$c\" + $ d:e") == {"a", "d:e"}
    assert variables_in("@x = 'no variable'") == set()


@pytest.mark.parametrize(
    ("context", "needs"),
    [
        ("cda:section[cda:templateId/@root='1.2.3']", {"tid:{urn:hl7-org:v3}1.2.3"}),
        ('*[hl7:templateId/@root = "4.5"]/cda:entry', {"tid:{urn:hl7-org:v3}4.5"}),
        ("//hl7:ClinicalDocument[hl7:typeId]/hl7:author/hl7:time", {f"{H}time"}),
        ("cda:author/cda:assignedAuthor/*[not(self::cda:id)]", {f"{H}assignedAuthor"}),
        ("cda:a | cda:b[@x]", {f"{H}a", f"{H}b"}),
        ("cda:id/@root", set()),  # attributes are never walked
        ("plain", {"{}plain"}),
    ],
)
def test_what_a_rule_needs_to_fire(context: str, needs: set[str]) -> None:
    assert _witnesses([_rule(context)], NS) == needs


@pytest.mark.parametrize(
    "context",
    ["/", "*", "node()", "cda:*", "key('k', 'v')", "unknown:x", "*[@a]", "descendant::cda:x"],
)
def test_a_context_that_may_match_anything_needs_nothing_known(context: str) -> None:
    assert _witnesses([_rule(context)], NS) is None


def test_wildcard_contexts_test_the_parent_path_first() -> None:
    context = "//hl7:A[hl7:t/@r='1']/hl7:B/*[not(@x = '1')][not(self::hl7:c | self::hl7:d)]"
    assert _fast_match(context) == (
        "(//hl7:A[hl7:t/@r='1']/hl7:B/*) intersect (*[not(@x = '1')][not(self::hl7:c | self::hl7:d)])"
    )
    for unchanged in ("hl7:a/*", "*[x]", "a/b[c]", "a | b/*[c]", "a//*[c]"):
        assert _fast_match(unchanged) == unchanged


def test_document_shape_is_what_the_rules_need() -> None:
    root = etree.fromstring(
        b'<ClinicalDocument xmlns="urn:hl7-org:v3"><templateId root="1.2.3"/>'
        b"<title/><!-- c --><x:y xmlns:x='urn:x'/><plain xmlns=''/></ClinicalDocument>"
    )
    assert document_shape(root) == {
        f"{H}ClinicalDocument",
        f"{H}templateId",
        f"tid:{H}1.2.3",
        f"{H}title",
        "{urn:x}y",
        "{}plain",
    }
