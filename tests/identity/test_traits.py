"""Normalisation of identity traits to the INSi character rules."""

from __future__ import annotations

import datetime
import re
from collections.abc import Callable

import pytest
from hypothesis import given
from hypothesis import strategies as st

from segurlink.errors import InvalidTraits
from segurlink.identity import (
    IdentityTraits,
    Sex,
    normalize_birth_name,
    normalize_first_name,
    normalize_first_names,
)
from segurlink.identity.traits import MAX_NAME_LENGTH

OUTPUT = re.compile(r"[A-Z' -]+")

# Text a user could type: Latin letters with and without marks, ligatures, separators,
# typographic marks, and some characters that must be refused.
typed_text = st.text(
    alphabet=st.sampled_from(
        list("abcxyzABCXYZéèêëàâäôöùûüçñÿÉÈÀÔÇ")
        + list("ÆæŒœßØŁı")
        + list("  \t\u00a0\u200b'’ʼ`--–,")
        + list("0123Ж王.")
    ),
    max_size=20,
)


@pytest.mark.parametrize(
    ("typed", "normalised"),
    [
        ("Zoé", "ZOE"),
        ("Œdipe", "OEDIPE"),
        ("L’Hôpital", "L'HOPITAL"),
        ("  jean   pierre ", "JEAN PIERRE"),
        ("ÆLIS", "AELIS"),
        ("æsop", "AESOP"),
        ("cœur", "COEUR"),
        ("Straße", "STRASSE"),
        ("de\tVinci", "DE VINCI"),
        ("Martin--Dupont", "MARTIN--DUPONT"),
        ("Martin - Dupont", "MARTIN-DUPONT"),
        ("d`Artagnan", "D'ARTAGNAN"),
        ("Ｄｕｐｏｎｔ", "DUPONT"),
        ("Ｄｕｐｏｎｔ－Ｍａｒｔｉｎ", "DUPONT-MARTIN"),
        ("O＇Neil", "O'NEIL"),
        ("O\u200bdile", "ODILE"),
    ],
)
def test_birth_name_examples(typed: str, normalised: str) -> None:
    assert normalize_birth_name(typed) == normalised


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ("Dupont2", "digit '2'"),
        ("Петров", "CYRILLIC"),
        ("王", "CJK"),
        ("", "empty"),
        ("  \t ", "empty"),
        ("-Dupont", "start with '-'"),
        ("'Dupont", "start with"),
        ("O''Neil", "doubled apostrophe"),
        ("A---B", "three hyphens"),
        ("Dupont & Fils", "'&'"),
        ("Dupont™", "TRADE MARK"),
    ],
)
def test_birth_name_refusals(typed: str, message: str) -> None:
    with pytest.raises(InvalidTraits, match=re.escape(message)) as info:
        normalize_birth_name(typed)
    assert info.value.field == "birth_name"


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ("JEAN-", "end with '-'"),
        ("jean'", "end with"),
        ("Jean--Pierre", "double hyphen"),
        ("jean pierre", "space"),
        ("Jean3", "digit"),
    ],
)
def test_first_name_refusals(typed: str, message: str) -> None:
    with pytest.raises(InvalidTraits, match=re.escape(message)) as info:
        normalize_first_name(typed)
    assert info.value.field == "first_names"


@pytest.mark.parametrize("value", [None, 3, [None]])
def test_first_names_of_the_wrong_type_are_refused(value: object) -> None:
    with pytest.raises(InvalidTraits) as info:
        normalize_first_names(value)  # type: ignore[arg-type]
    assert info.value.field == "first_names"


def test_first_names_split_on_spaces_and_commas_but_not_hyphens() -> None:
    assert normalize_first_names("Pierre-Alain muriel  floriant") == (
        "PIERRE-ALAIN",
        "MURIEL",
        "FLORIANT",
    )
    assert normalize_first_names("Pierre, Paul,Jacques") == ("PIERRE", "PAUL", "JACQUES")
    assert normalize_first_names(["Zoé", " Anne ", ""]) == ("ZOE", "ANNE")
    assert normalize_first_names("jean - pierre") == ("JEAN-PIERRE",)


@pytest.mark.parametrize("value", ["", " , ", [], ["", "  ", "\u00a0"]])
def test_first_names_cannot_be_empty(value: str | list[str]) -> None:
    with pytest.raises(InvalidTraits, match="at least one first name"):
        normalize_first_names(value)


@given(typed_text)
def test_birth_name_normalisation_properties(text: str) -> None:
    try:
        value = normalize_birth_name(text)
    except InvalidTraits as exc:
        assert exc.field == "birth_name"
        return
    assert OUTPUT.fullmatch(value)
    assert value == value.strip()
    assert "  " not in value
    assert "''" not in value
    assert value[0] not in "-'"
    assert normalize_birth_name(value) == value  # idempotent


@given(typed_text)
def test_first_names_normalisation_properties(text: str) -> None:
    try:
        names = normalize_first_names(text)
    except InvalidTraits as exc:
        assert exc.field == "first_names"
        return
    assert names
    for name in names:
        assert re.fullmatch(r"[A-Z'-]+", name)
        assert name[0] not in "-'" and name[-1] not in "-'"
        assert "--" not in name and "''" not in name
        assert normalize_first_name(name) == name
    assert normalize_first_names(" ".join(names)) == names  # idempotent


def adrun(**changes: object) -> IdentityTraits:
    values: dict[str, object] = {
        "birth_name": "Adrun",
        "first_names": "Zoé",
        "sex": "f",
        "birth_date": "1975-12-31",
        "birth_place": "63220",
    }
    values.update(changes)
    return IdentityTraits.from_input(**values)  # type: ignore[arg-type]


def test_from_input_normalises_everything() -> None:
    traits = adrun(
        first_names=["Zoé", "Marie-Ève"], used_name=" épouse Martin ", used_first_name="Zoé Anne"
    )
    assert traits == IdentityTraits(
        birth_name="ADRUN",
        first_names=("ZOE", "MARIE-EVE"),
        sex=Sex.F,
        birth_date="1975-12-31",
        birth_place="63220",
        used_name="EPOUSE MARTIN",
        used_first_name="ZOE ANNE",
    )
    assert traits.first_name == "ZOE"
    assert traits.first_names_text == "ZOE MARIE-EVE"
    assert traits.birth_date_value == datetime.date(1975, 12, 31)


@pytest.mark.parametrize("sex", ["m", "M", " m ", Sex.M])
def test_sex_m(sex: str) -> None:
    assert adrun(sex=sex).sex is Sex.M


@pytest.mark.parametrize("sex", ["U", "", "H", "X", "inconnu"])
def test_sex_other_than_m_or_f_is_refused(sex: str) -> None:
    with pytest.raises(InvalidTraits, match="only M or F") as info:
        adrun(sex=sex)
    assert info.value.field == "sex"


@pytest.mark.parametrize(
    ("typed", "iso"),
    [
        (datetime.date(1975, 12, 31), "1975-12-31"),
        (datetime.datetime(1975, 12, 31, 8, 30), "1975-12-31"),
        ("1975-12-31", "1975-12-31"),
        ("31/12/1975", "1975-12-31"),
        (" 00/00/1950 ", "1950-00-00"),
        ("1950-03-00", "1950-03-00"),
    ],
)
def test_birth_date_forms(typed: str | datetime.date, iso: str) -> None:
    assert adrun(birth_date=typed).birth_date == iso


def test_lunar_birth_date_has_no_date_value() -> None:
    assert adrun(birth_date="1950-00-00").birth_date_value is None
    assert adrun(birth_date="1950-04-00").birth_date_value is None


@pytest.mark.parametrize(
    "typed",
    [
        "1975-13-01",
        "1975-02-30",
        "1975-02-32",
        "12/31/1975",
        "1975/12/31",
        "31-12-1975",
        "0000-01-01",
        "",
        19751231,
        "2999-01-01",
        "2999-00-00",
        datetime.date(2999, 1, 1),
    ],
)
def test_bad_birth_dates_are_refused(typed: object) -> None:
    with pytest.raises(InvalidTraits) as info:
        adrun(birth_date=typed)
    assert info.value.field == "birth_date"


@pytest.mark.parametrize(
    ("typed", "stored"),
    [("2a020", "2A020"), ("99134", "99134"), (" 63220 ", "63220"), ("", None), (None, None)],
)
def test_birth_place(typed: str | None, stored: str | None) -> None:
    assert adrun(birth_place=typed).birth_place == stored


@pytest.mark.parametrize("typed", ["6322", "632200", "2C020", "Clermont"])
def test_bad_birth_place_is_refused(typed: str) -> None:
    with pytest.raises(InvalidTraits) as info:
        adrun(birth_place=typed)
    assert info.value.field == "birth_place"


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"birth_name": "Adrun"}, "birth_name"),
        ({"first_names": ("ZOE ANNE",)}, "first_names"),
        ({"first_names": ()}, "first_names"),
        ({"first_names": "ZOE"}, "first_names"),
        ({"sex": "U"}, "sex"),
        ({"birth_date": "31/12/1975"}, "birth_date"),
        ({"birth_place": "2a020"}, "birth_place"),
        ({"used_name": "martin"}, "used_name"),
        ({"used_first_name": "ZOE-"}, "used_first_name"),
    ],
)
def test_constructor_only_accepts_normalised_values(changes: dict[str, object], field: str) -> None:
    values: dict[str, object] = {
        "birth_name": "ADRUN",
        "first_names": ("ZOE",),
        "sex": "F",
        "birth_date": "1975-12-31",
    }
    values.update(changes)
    with pytest.raises(InvalidTraits) as info:
        IdentityTraits(**values)  # type: ignore[arg-type]
    assert info.value.field == field


def test_constructor_converts_sex_and_first_name_list() -> None:
    traits = IdentityTraits("ADRUN", ["ZOE"], "F", "1975-12-31")  # type: ignore[arg-type]
    assert traits.sex is Sex.F
    assert traits.first_names == ("ZOE",)


def test_repr_shows_no_health_data() -> None:
    traits = adrun(used_name="Martin", used_first_name="Zoé")
    text = repr(traits)
    assert text == str(traits)
    for secret in ("ADRUN", "ZOE", "1975", "12-31", "63220", "MARTIN"):
        assert secret not in text
    assert "sex='F'" in text


# -- lengths (what is sent to INSi is bounded; see MAX_NAME_LENGTH's source) ---------------

NAME_FIELDS = ["birth_name", "first_names", "used_name", "used_first_name"]


def test_the_bound_is_100_characters() -> None:
    assert MAX_NAME_LENGTH == 100


@pytest.mark.parametrize("field", NAME_FIELDS)
def test_each_name_at_the_limit_is_accepted(field: str) -> None:
    traits = adrun(**{field: "A" * MAX_NAME_LENGTH})
    value = traits.first_names_text if field == "first_names" else getattr(traits, field)
    assert value == "A" * MAX_NAME_LENGTH


@pytest.mark.parametrize("field", NAME_FIELDS)
def test_each_name_one_over_the_limit_is_refused(field: str) -> None:
    with pytest.raises(InvalidTraits, match="has 101 characters once normalised") as info:
        adrun(**{field: "A" * (MAX_NAME_LENGTH + 1)})
    assert info.value.field == field


@pytest.mark.parametrize(
    ("first_names", "accepted"),
    [
        (["A" * 49, "B" * 50], True),  # 49 + space + 50 = 100
        (["A" * 50, "B" * 50], False),  # 101 as ListePrenom
        (["ZOE"] * 25, True),  # 25 * 4 - 1 = 99
        (["ZOE"] * 26, False),  # 103
    ],
)
def test_the_list_of_first_names_is_bounded_as_one_text(
    first_names: list[str], accepted: bool
) -> None:
    if accepted:
        assert len(normalize_first_names(first_names)) == len(first_names)
    else:
        with pytest.raises(InvalidTraits, match=r"first_names has 10[13] characters"):
            normalize_first_names(first_names)


def test_the_limit_applies_to_the_normalised_value() -> None:
    # "Æ" becomes "AE": 50 of them are 100 characters, 51 are 102.
    assert normalize_birth_name("Æ" * 50) == "AE" * 50
    with pytest.raises(InvalidTraits, match="102 characters"):
        normalize_birth_name("Æ" * 51)
    # Blanks collapse first: a long run of spaces inside does not count.
    assert normalize_birth_name("A" + " " * 250 + "B" * 98) == "A " + "B" * 98


@pytest.mark.parametrize("field", NAME_FIELDS)
def test_a_one_megabyte_name_is_refused_before_it_is_normalised(field: str) -> None:
    with pytest.raises(InvalidTraits, match="1000000 characters; at most 100") as info:
        adrun(**{field: "A" * 1_000_000})
    assert info.value.field == field
    assert len(str(info.value)) < 200


def test_padding_and_decomposed_accents_do_not_count() -> None:
    # A fixed-width export pads with blanks; decomposed accents are two code points.
    padded = "  " + "E\u0301" * 100 + " " * 1000
    assert normalize_birth_name(padded) == "E" * 100
    assert adrun(first_names=[padded]).first_name == "E" * 100


@pytest.mark.parametrize(
    ("field", "at_limit", "over"),
    [
        # Fixed-length fields of the contract (INSi_RESULTAT_INS.xsd patterns).
        ("birth_date", "1975-12-31", "1975-12-311"),
        ("birth_date", "31/12/1975", "31/12/19755"),
        ("birth_place", "63220", "632201"),
        ("birth_place", "2A020", "2A0201"),
    ],
)
def test_fixed_length_fields_at_and_over_their_length(field: str, at_limit: str, over: str) -> None:
    assert adrun(**{field: at_limit})
    with pytest.raises(InvalidTraits) as info:
        adrun(**{field: over})
    assert info.value.field == field


def test_the_constructor_reads_long_names_as_they_come() -> None:
    # Answers of INSi go through the constructor: only what is sent is bounded.
    long = "A" * (MAX_NAME_LENGTH + 1)
    traits = IdentityTraits(long, (long,), Sex.F, "1975-12-31", used_name=long)
    assert traits.birth_name == long


# -- one example per repair (each entry of the repair table has its failing case) ----------

REPAIRS = [
    # ligatures and special Latin letters, upper and lower case
    ("Æ", "ÆLIS", "AELIS"),
    ("æ", "Cæsar", "CAESAR"),
    ("Œ", "ŒDIPE", "OEDIPE"),
    ("œ", "Bœuf", "BOEUF"),
    ("ẞ", "STRAẞE", "STRASSE"),  # capital sharp s: upper() keeps it
    ("ß", "Straße", "STRASSE"),  # small sharp s: upper() gives SS
    ("Ø", "Østergaard", "OSTERGAARD"),
    ("ø", "Bjørn", "BJORN"),
    ("Ł", "Łukasz", "LUKASZ"),
    ("ł", "Wałęsa", "WALESA"),
    ("Đ", "Đokić", "DOKIC"),
    ("đ", "Karađorđe", "KARADORDE"),
    ("ı", "Yıldız", "YILDIZ"),  # dotless i: upper() gives I
    # apostrophes
    ("’", "O’Neil", "O'NEIL"),
    ("‘", "O‘Neil", "O'NEIL"),
    ("ʼ", "Dʼarc", "D'ARC"),
    ("`", "d`Artagnan", "D'ARTAGNAN"),
    ("´", "O´Brien", "O'BRIEN"),
    ("′", "O′Hara", "O'HARA"),
    ("＇", "O＇Neil", "O'NEIL"),
    # hyphens and dashes
    ("‐", "Martin‐Dupont", "MARTIN-DUPONT"),  # U+2010 HYPHEN
    ("‑", "Martin‑Dupont", "MARTIN-DUPONT"),  # U+2011 NON-BREAKING HYPHEN
    ("‒", "Martin‒Dupont", "MARTIN-DUPONT"),  # U+2012 FIGURE DASH
    ("–", "Martin–Dupont", "MARTIN-DUPONT"),  # U+2013 EN DASH
    ("—", "Martin—Dupont", "MARTIN-DUPONT"),  # U+2014 EM DASH
    ("−", "Martin−Dupont", "MARTIN-DUPONT"),  # U+2212 MINUS SIGN
    ("－", "Martin－Dupont", "MARTIN-DUPONT"),  # U+FF0D FULLWIDTH HYPHEN-MINUS
    ("﹣", "Martin﹣Dupont", "MARTIN-DUPONT"),  # U+FE63 SMALL HYPHEN-MINUS
    ("‐‐", "Martin‐‐Dupont", "MARTIN--DUPONT"),  # double hyphen, birth names only
    # invisible format characters and spaces
    ("\u00ad", "Du\u00adpont", "DUPONT"),  # soft hyphen
    ("\u200b", "Du\u200bpont", "DUPONT"),  # zero-width space
    ("\u00a0", "de\u00a0Vinci", "DE VINCI"),  # no-break space
    ("\u3000", "de\u3000Vinci", "DE VINCI"),  # ideographic space
]


@pytest.mark.parametrize(("char", "typed", "normalised"), REPAIRS, ids=[r[0] for r in REPAIRS])
def test_each_repair_of_the_table(char: str, typed: str, normalised: str) -> None:
    assert char in typed
    assert normalize_birth_name(typed) == normalised
    assert adrun(used_name=typed).used_name == normalised


@pytest.mark.parametrize(
    ("typed", "normalised"),
    [("Ło’ïc", "LO'IC"), ("Đorđe", "DORDE"), ("Jean‐Paul", "JEAN-PAUL"), ("Yıldız", "YILDIZ")],
)
def test_repairs_apply_to_first_names_too(typed: str, normalised: str) -> None:
    assert normalize_first_name(typed) == normalised
    assert adrun(first_names=[typed, "Zoé"]).first_names == (normalised, "ZOE")


@pytest.mark.parametrize(
    ("typed", "normalised"),
    [("Xavier", "XAVIER"), ("xavier", "XAVIER"), ("Axel", "AXEL"), ("Félix", "FELIX"),
     ("MAXIME", "MAXIME"), ("Ｘavier", "XAVIER")],
)  # fmt: skip
def test_names_with_x_keep_their_x(typed: str, normalised: str) -> None:
    assert normalize_birth_name(typed) == normalised
    assert normalize_first_name(typed) == normalised
    traits = adrun(birth_name=typed, first_names=typed, used_first_name=typed)
    assert traits.birth_name == traits.first_name == traits.used_first_name == normalised


@pytest.mark.parametrize("typed", ["1975-13-00", "1975-00-32", "0000-00-00", "00/13/1975",
                                   "32/00/1975", "1975-13-32"])  # fmt: skip
def test_partial_birth_dates_out_of_range_are_refused(typed: str) -> None:
    with pytest.raises(InvalidTraits, match="not a possible date") as info:
        adrun(birth_date=typed)
    assert info.value.field == "birth_date"
    with pytest.raises(InvalidTraits) as info:
        IdentityTraits("ADRUN", ("ZOE",), Sex.F, typed)
    assert info.value.field == "birth_date"


@pytest.mark.parametrize("typed", ["1975-12-00", "1975-00-31", "1975-00-00", "00/12/1975"])
def test_partial_birth_dates_at_the_edges_are_accepted(typed: str) -> None:
    traits = adrun(birth_date=typed)
    assert traits.birth_date_value is None
    assert IdentityTraits("ADRUN", ("ZOE",), Sex.F, traits.birth_date).birth_date == (
        traits.birth_date
    )


# -- the refusals a user reads (CLI, forms): the field at fault and the whole message ---------

NOT_INSI = "which cannot be written with INSi's characters (A-Z, space, apostrophe, hyphen)"


@pytest.mark.parametrize(
    ("call", "field", "message"),
    [
        (lambda: normalize_birth_name("Dupont & Fils"), "birth_name",
         f"birth_name contains the character '&' (U+0026 AMPERSAND), {NOT_INSI}"),
        # a Greek mark whose capital is a Greek letter: another script, refused
        (lambda: normalize_birth_name("Dupont\u0345"), "birth_name",
         f"birth_name contains the character 'Ι' (U+0399 GREEK CAPITAL LETTER IOTA), {NOT_INSI}"),
        # a private-use character has no Unicode name
        (lambda: normalize_birth_name("Du\ue000pont"), "birth_name",
         f"birth_name contains the character '\\ue000' (U+E000 unnamed character), {NOT_INSI}"),
        (lambda: normalize_birth_name("Dupont2"), "birth_name",
         "birth_name contains the digit '2' (U+0032 DIGIT TWO); names cannot contain digits"),
        # numbers that are not decimal digits are digits to a reader too
        (lambda: normalize_birth_name("Henri Ⅳ"), "birth_name",
         "birth_name contains the digit 'Ⅳ' (U+2163 ROMAN NUMERAL FOUR); "
         "names cannot contain digits"),
        (lambda: normalize_birth_name("Dupont²"), "birth_name",
         "birth_name contains the digit '²' (U+00B2 SUPERSCRIPT TWO); names cannot contain digits"),
        (lambda: normalize_birth_name(3), "birth_name",  # type: ignore[arg-type]
         "birth_name must be a string, not int"),
        (lambda: normalize_first_name("jean pierre"), "first_names",
         "first_names: a single first name cannot contain a space (INSi separates first names "
         "with spaces); pass them as a list or use normalize_first_names"),
        (lambda: normalize_first_names(3), "first_names",  # type: ignore[arg-type]
         "first_names must be a string or a list, not int"),
        (lambda: normalize_first_names(["Zoé", 3]), "first_names",  # type: ignore[list-item]
         "first_names must be strings, not int"),
        (lambda: normalize_first_names(" , "), "first_names",
         "first_names is empty: at least one first name is needed"),
        (lambda: adrun(used_name="Martin2"), "used_name",
         "used_name contains the digit '2' (U+0032 DIGIT TWO); names cannot contain digits"),
        (lambda: adrun(used_first_name="Zoé2"), "used_first_name",
         "used_first_name contains the digit '2' (U+0032 DIGIT TWO); names cannot contain digits"),
        # a used first name may hold several names: each one is checked
        (lambda: adrun(used_first_name="Zoé' Anne"), "used_first_name",
         "used_first_name: a first name cannot end with \"'\""),
        (lambda: adrun(birth_date="1975-02-30"), "birth_date", "birth_date is not a possible date"),
        (lambda: adrun(birth_date="1975-13-00"), "birth_date", "birth_date is not a possible date"),
        (lambda: adrun(birth_date="2999-00-00"), "birth_date", "birth_date is in the future"),
        (lambda: adrun(birth_date="1975.12.31"), "birth_date",
         "birth_date must be a date, 'YYYY-MM-DD' or 'DD/MM/YYYY'"),
        (lambda: adrun(birth_date=19751231), "birth_date",
         "birth_date must be a date or a string, not int"),
        (lambda: adrun(birth_place=63220), "birth_place", "birth_place must be a string"),
    ],
    ids=["symbol", "greek-mark", "unnamed", "digit", "roman-numeral", "superscript", "name-type",
         "first-name-space", "first-names-type", "first-names-item-type", "first-names-empty",
         "used-name", "used-first-name", "used-first-name-word", "impossible-date", "month-13", "future",
         "date-form", "date-type", "birth-place-type"],
)  # fmt: skip
def test_refusal_messages(call: Callable[[], object], field: str, message: str) -> None:
    with pytest.raises(InvalidTraits) as info:
        call()
    assert (info.value.field, str(info.value)) == (field, message)


NOT_NORMALISED = (
    "is not normalised to INSi's rules; build the traits with IdentityTraits.from_input()"
)


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"birth_name": 3}, "birth_name", "birth_name must be a string"),
        ({"first_names": ("zoe",)}, "first_names", f"first_names {NOT_NORMALISED}"),
        ({"first_names": ("ZOE", 3)}, "first_names", "first_names must be a string"),
        ({"first_names": "ZOE"}, "first_names", "first_names must be a tuple of single first names"),
        ({"first_names": ()}, "first_names", "first_names is empty: at least one first name is needed"),
        ({"sex": "U"}, "sex", "sex 'U' cannot be used: INSi knows only M or F"),
        ({"birth_date": "31/12/1975"}, "birth_date",
         "birth_date must be 'YYYY-MM-DD' (month and day may be 00)"),
        ({"birth_place": "2C020"}, "birth_place",
         "birth_place must be a 5-character INSEE COG code (digits, or 2A/2B + 3 digits)"),
        ({"used_name": "martin"}, "used_name", f"used_name {NOT_NORMALISED}"),
        ({"used_first_name": "zoe"}, "used_first_name", f"used_first_name {NOT_NORMALISED}"),
    ],
)  # fmt: skip
def test_constructor_refusal_messages(changes: dict[str, object], field: str, message: str) -> None:
    values: dict[str, object] = {
        "birth_name": "ADRUN",
        "first_names": ("ZOE",),
        "sex": "F",
        "birth_date": "1975-12-31",
    }
    values.update(changes)
    with pytest.raises(InvalidTraits) as info:
        IdentityTraits(**values)  # type: ignore[arg-type]
    assert (info.value.field, str(info.value)) == (field, message)


def test_the_first_year_is_1() -> None:
    assert IdentityTraits("ADRUN", ("ZOE",), Sex.F, "0001-01-01").birth_date == "0001-01-01"
    with pytest.raises(InvalidTraits, match="not a possible date"):
        IdentityTraits("ADRUN", ("ZOE",), Sex.F, "0000-01-01")


def test_birth_dates_up_to_today_are_accepted() -> None:
    today = datetime.date.today()
    year, month = today.year, today.month
    next_month = f"{year + 1}-01" if month == 12 else f"{year}-{month + 1:02d}"
    for accepted in (today.isoformat(), f"{year}-{month:02d}-00", f"{year}-00-00",
                     f"{year}-00-{today.day:02d}"):  # fmt: skip
        assert adrun(birth_date=accepted).birth_date == accepted
    for future in ((today + datetime.timedelta(days=1)).isoformat(), f"{next_month}-00",
                   f"{year + 1}-00-00"):  # fmt: skip
        with pytest.raises(InvalidTraits, match=r"^birth_date is in the future$"):
            adrun(birth_date=future)


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        # at most 4 * MAX_NAME_LENGTH characters are normalised; beyond, refused at once
        (" " + "A" * 400 + " ", "birth_name has 400 characters once normalised; at most 100"),
        ("A" * 401, "birth_name has 401 characters; at most 100 are sent to INSi"),
    ],
)
def test_the_early_length_bound_is_four_times_the_limit(typed: str, message: str) -> None:
    with pytest.raises(InvalidTraits) as info:
        normalize_birth_name(typed)
    assert str(info.value).startswith(message)


def test_long_first_names_are_refused_before_they_are_normalised() -> None:
    with pytest.raises(InvalidTraits) as info:
        normalize_first_name("A" * 1000)
    assert str(info.value) == "first_names has 1000 characters; at most 100 are sent to INSi"
    # a list item is bounded as typed, before it is split into names
    with pytest.raises(InvalidTraits) as info:
        normalize_first_names(["A " * 300])
    assert str(info.value) == "first_names has 599 characters; at most 100 are sent to INSi"


def test_an_empty_item_before_a_first_name_is_skipped() -> None:
    assert normalize_first_names(["", " , ", "Zoé"]) == ("ZOE",)


def test_repr_masks_each_value_to_its_first_letter() -> None:
    bare = IdentityTraits("ADRUN", ("ZOE", "ANNE"), Sex.F, "1975-12-31")
    assert repr(bare) == (
        "IdentityTraits(birth_name='A***', first_names=('Z***', 'A***'), sex='F', "
        "birth_date='****-**-**', birth_place=None, used_name=None, used_first_name=None)"
    )
    full = IdentityTraits("ADRUN", ("ZOE",), Sex.M, "1975-12-31", "63220", "MARTIN", "ZOE ANNE")
    assert repr(full) == (
        "IdentityTraits(birth_name='A***', first_names=('Z***',), sex='M', "
        "birth_date='****-**-**', birth_place='*****', used_name='M***', used_first_name='Z***')"
    )
