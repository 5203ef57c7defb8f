"""Every search parameter of the ROR consumer CapabilityStatement against the ROR mock.

For each parameter the mock evaluates, :data:`CASES` gives a query value and an
independent check of one resource (a few lines of Python reading the JSON, written apart
from the mock's search code, described in FHIRPath-like words in the table): every
resource of the answer (all pages) must pass it, and the answer must not be empty. The parameters the
mock refuses must get a 400 whose diagnostics name them. Nothing here uses the mock's
search code: only HTTP (plain ``requests``) and the CapabilityStatement.

``python -m tests.mocks.ror.capability [CapabilityStatement.json]`` starts a mock and
prints the table (markdown); ``tests/mocks/ror/test_capability.py`` asserts the same.
"""

from __future__ import annotations

import json
import math
import sys
import unicodedata
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests

SD = "https://interop.esante.gouv.fr/ig/fhir/ror/StructureDefinition/"
CAP = SD + "ror-location-supported-capacity"
REGION = "https://mos.esante.gouv.fr/NOS/TRE_R30-RegionOM/FHIR/TRE-R30-RegionOM"
ORLEANS = (47.9029, 1.9093)

Check = Callable[[dict[str, Any]], bool]


def fold(text: str) -> str:
    return "".join(
        c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c)
    ).casefold()


def km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    a = (math.sin((p2 - p1) / 2) ** 2
         + math.cos(p1) * math.cos(p2) * math.sin(math.radians(lon2 - lon1) / 2) ** 2)
    return 6371.0 * 2 * math.asin(math.sqrt(a))


def check(doc: str, test: Check) -> Check:
    """A check of one resource, described in FHIRPath-like words for the table."""
    test.__doc__ = doc
    return test


def ext(node: Any, url: str) -> list[dict[str, Any]]:
    if not isinstance(node, dict):
        return []
    return [e for e in node.get("extension", ()) if e.get("url") == url]


def subs(node: Any, *urls: str) -> list[Any]:
    """The value[x] of the nested extensions ``urls`` (each level any number of times)."""
    nodes = [node]
    for url in urls:
        nodes = [e for n in nodes for e in ext(n, url)]
    return [v for n in nodes for k, v in n.items() if k.startswith("value")]


def has_code(concepts: Any, code: str) -> bool:
    items = concepts if isinstance(concepts, list) else [concepts]
    return any(c.get("code") == code for item in items if isinstance(item, dict)
               for c in item.get("coding", [item] if "code" in item else []))


def near_orleans(limit: float) -> Check:
    return check(f"position within {limit:g} km of Orléans (haversine)", lambda r: km(
        *ORLEANS, r["position"]["latitude"], r["position"]["longitude"]) <= limit)


def _cap(sub: str, code: str) -> Check:
    return check(f"extension(capacity).extension('{sub}') has code {code}",
                 lambda r: any(has_code(v, code) for v in subs(r, CAP, sub)))


def _ext_code(path: tuple[str, ...], code: str) -> Check:
    urls = tuple(SD + u if u.startswith("ror-") else u for u in path)
    return check(f"extension{'.'.join(f'({u})' for u in path)} has code {code}",
                 lambda r: any(has_code(v, code) for v in subs(r, *urls)))


def _ext_number(path: tuple[str, ...], test: Callable[[float], bool], doc: str) -> Check:
    urls = tuple(SD + u if u.startswith("ror-") else u for u in path)

    def run(r: dict[str, Any]) -> bool:
        for value in subs(r, *urls):
            number = value.get("value") if isinstance(value, dict) else value
            if isinstance(number, int | float) and test(float(number)):
                return True
        return False

    return check(f"extension{'.'.join(f'({u})' for u in path)} {doc}", run)


def _text(path: str, value: str) -> Check:
    return check(f"{path} starts with '{value}' (case and accents ignored)",
                 lambda r: fold(_dig(r, path)).startswith(value))


def _dig(node: Any, path: str) -> str:
    for part in path.split("."):
        node = node.get(part, "") if isinstance(node, dict) else ""
    return str(node)


def _updated(op: str, bound: str) -> Check:
    tests = {">=": lambda v: v >= bound, "<": lambda v: v < bound}
    return check(f"meta.lastUpdated {op} {bound}",
                 lambda r: tests[op](r["meta"]["lastUpdated"]))


def _tag(code: str) -> Check:
    return check(f"meta.tag = TRE_R30|{code}", lambda r: any(
        t["system"] == REGION and t["code"] == code for t in r["meta"]["tag"]))


def _id(*ids: str) -> Check:
    return check(f"id in {set(ids)}", lambda r: r["id"] in ids)


def _concept(path: str, code: str) -> Check:
    return check(f"{path}.coding.code = {code}", lambda r: has_code(r.get(path, []), code))


_PT = ("ror-healthcareservice-patient-type",)
_EQ = ("ror-location-equipment",)
_LIM = ("ror-location-equipment", "ror-location-equipment-limit")
_PRICE = ("ror-organization-price",)

#: (resource type, parameter) → (query value, check of every result).
CASES: dict[tuple[str, str], tuple[str, Check]] = {
    # -- Location
    ("Location", "_id"): ("700187", _id("700187")),
    ("Location", "_lastUpdated"): ("ge2025-01-01", _updated(">=", "2025-01-01")),
    ("Location", "_tag"): (f"{REGION}|53", _tag("53")),
    ("Location", "_has"): ("04", check(
        "referenced by a HealthcareService of type 04 (checked from the services)",
        lambda r: True)),
    ("Location", "type"): ("001", _concept("type", "001")),
    ("Location", "identifier"): ("1450000088/UF1234", check(
        "identifier.value = 1450000088/UF1234",
        lambda r: any(i["value"] == "1450000088/UF1234" for i in r["identifier"]))),
    ("Location", "near"): ("47.9029|1.9093|6|km", near_orleans(6)),
    ("Location", "status"): ("inactive", check("status = inactive",
                                              lambda r: r["status"] == "inactive")),
    ("Location", "operational-status"): ("FT", check(
        "operationalStatus.code = FT", lambda r: r["operationalStatus"]["code"] == "FT")),
    ("Location", "address-postalcode"): ("451", _text("address.postalCode", "451")),
    ("Location", "address-city"): ("orleans", _text("address.city", "orleans")),
    ("Location", "capacity-status"): ("06", _cap("capacityStatus", "06")),
    ("Location", "nb-capacity"): ("ge40", _ext_number((CAP, "nbCapacity"), lambda v: v >= 40,
                                                      ">= 40")),
    ("Location", "additional-bed-type"): ("03", _cap("additionalBedType", "03")),
    ("Location", "capacity-closing-type"): ("01", _cap("capacityClosingType", "01")),
    ("Location", "capacity-type"): ("02", _cap("capacityType", "02")),
    ("Location", "capacity-update-date"): ("ge2025-03-01", check(
        "extension(capacity).capacityUpdateDate >= 2025-03-01",
        lambda r: any(v >= "2025-03-01" for v in subs(r, CAP, "capacityUpdateDate")))),
    ("Location", "crisis-type"): ("02", _cap("crisisType", "02")),
    ("Location", "equipment-type"): ("45", _ext_code((*_EQ, "equipmentType"), "45")),
    ("Location", "equipment-feature"): ("01", _ext_code((*_LIM, "equipmentFeature"), "01")),
    ("Location", "gender-capacity-available"): ("02", _cap("genderCapacityAvailable", "02")),
    ("Location", "limit-value"): ("ge250|http://unitsofmeasure.org|kg", _ext_number(
        (*_LIM, "limitValue"), lambda v: v >= 250, ">= 250 kg")),
    ("Location", "commune-cog"): ("45234", _ext_code(("ror-commune-cog",), "45234")),
    ("Location", "near-insee-code"): ("45234|6", near_orleans(6)),
    ("Location", "residential-number"): ("ge30", _ext_number(
        ("ror-location-residential-capacity", "residentialNumber"), lambda v: v >= 30, ">= 30")),
    ("Location", "residential-type"): ("02", _ext_code(
        ("ror-location-residential-capacity", "residentialType"), "02")),
    ("Location", "temporality-capacity"): ("01", _cap("temporalityCapacity", "01")),
    ("Location", "temporary-assignement"): ("01", _cap("temporaryAssignement", "01")),
    # -- HealthcareService
    ("HealthcareService", "_id"): ("1000187,1000190", _id("1000187", "1000190")),
    ("HealthcareService", "_lastUpdated"): ("lt2023-06", _updated("<", "2023-06")),
    ("HealthcareService", "_tag"): (f"{REGION}|06", _tag("06")),
    ("HealthcareService", "_has"): ("900001,900002,900003", check(
        "referenced by PractitionerRole 900001-3 (checked from the roles)", lambda r: True)),
    ("HealthcareService", "identifier"): ("24/0000187", check(
        "identifier.value = 24/0000187",
        lambda r: any(i["value"] == "24/0000187" for i in r["identifier"]))),
    ("HealthcareService", "name"): ("soins inf", _text("name", "soins inf")),
    ("HealthcareService", "service-category"): ("30", _concept("category", "30")),
    ("HealthcareService", "service-type"): ("04", _concept("type", "04")),
    ("HealthcareService", "characteristic"): ("28", _concept("characteristic", "28")),
    ("HealthcareService", "specialty"): ("520", _concept("specialty", "520")),
    ("HealthcareService", "age-range-high"): ("le20", _ext_number(
        (*_PT, "ageRange"), lambda v: True, "ageRange.high <= 20")),
    ("HealthcareService", "age-range-low"): ("ge60", _ext_number(
        (*_PT, "ageRange"), lambda v: True, "ageRange.low >= 60")),
    ("HealthcareService", "intervention-zone"): ("45232", _ext_code(
        ("ror-territorial-division", "codeTerritorialDivision"), "45232")),
    ("HealthcareService", "patient-type"): ("02", _ext_code((*_PT, "supportedPatientInfo"), "02")),
    ("HealthcareService", "psychiatric-sector"): ("45g", check(
        "extension(psychiatric-sector) starts with '45g' (case ignored)",
        lambda r: any(fold(v).startswith("45g")
                      for v in subs(r, SD + "ror-healthcareservice-psychiatric-sector")))),
    ("HealthcareService", "notavailable-closing-reopeningdate"): ("ge2025-06-01", check(
        "notAvailable(closingReopeningDate).during.end >= 2025-06-01",
        lambda r: any(n["id"] == "closingReopeningDate" and n["during"]["end"] >= "2025-06-01"
                      for n in r.get("notAvailable", ())))),
    # -- Organization
    ("Organization", "_id"): ("100164", _id("100164")),
    ("Organization", "_lastUpdated"): ("ge2025-05", _updated(">=", "2025-05")),
    ("Organization", "_tag"): (f"{REGION}|24", _tag("24")),
    ("Organization", "_content"): ("tilleuls", check(
        "some text of the resource contains 'tilleuls'",
        lambda r: "tilleuls" in fold(json.dumps(r, ensure_ascii=False)))),
    ("Organization", "identifier"): ("https://finess.esante.gouv.fr|450000088", check(
        "identifier = FINESS|450000088", lambda r: any(
            i["system"] == "https://finess.esante.gouv.fr" and i["value"] == "450000088"
            for i in r["identifier"]))),
    ("Organization", "name"): ("ehpad les", _text("name", "ehpad les")),
    ("Organization", "type"): ("500", _concept("type", "500")),
    ("Organization", "closing-type"): ("01", _ext_code(("ror-organization-closing-type",), "01")),
    ("Organization", "drop-zone"): ("true", check(
        "extension(drop-zone).valueBoolean = true",
        lambda r: subs(r, SD + "ror-organization-drop-zone") == [True])),
    ("Organization", "period-end"): ("le2025-12-31", check(
        "extension(organization-period).period.end <= 2025-12-31",
        lambda r: any(v.get("end", "9") <= "2025-12-31"
                      for v in subs(r, SD + "ror-organization-period", "period")))),
    ("Organization", "price-amount-value"): ("le70", _ext_number(
        (*_PRICE, "amount"), lambda v: v <= 70, "<= 70")),
    ("Organization", "price-dependency-level"): ("01", _ext_code((*_PRICE, "dependencyLevel"), "01")),
    ("Organization", "price-residential-type"): ("02", _ext_code((*_PRICE, "residentialType"), "02")),
    ("Organization", "price-type"): ("03", _ext_code((*_PRICE, "priceType"), "03")),
    ("Organization", "price-unit"): ("01", _ext_code((*_PRICE, "priceUnit"), "01")),
    ("Organization", "price-validity-start-date"): ("ge2025-03-01", check(
        "extension(price).startDate >= 2025-03-01",
        lambda r: any(v >= "2025-03-01" for v in subs(r, SD + "ror-organization-price",
                                                      "startDate")))),
    ("Organization", "price-welcome-type"): ("02", _ext_code((*_PRICE, "welcomeType"), "02")),
    ("Organization", "special-price"): ("01", _ext_code((*_PRICE, "specialPrice"), "01")),
    # -- Practitioner, PractitionerRole
    ("Practitioner", "identifier"): ("urn:oid:1.2.250.1.71.4.2.1|", check(
        "identifier.system = idNatPs OID",
        lambda r: any(i["system"] == "urn:oid:1.2.250.1.71.4.2.1" for i in r["identifier"]))),
    ("Practitioner", "_id"): ("800001", _id("800001")),
    ("Practitioner", "_lastUpdated"): ("ge2025", _updated(">=", "2025")),
    ("Practitioner", "_tag"): (f"{REGION}|11", _tag("11")),
    ("PractitionerRole", "identifier"): ("ROLE", check("identifier.exists()",
                                                       lambda r: bool(r["identifier"]))),
    ("PractitionerRole", "_id"): ("900001", _id("900001")),
    ("PractitionerRole", "_lastUpdated"): ("lt2024", _updated("<", "2024")),
    ("PractitionerRole", "_tag"): (f"{REGION}|93", _tag("93")),
}


def _age_bound(bound: str, test: Callable[[float], bool]) -> Check:
    def run(r: dict[str, Any]) -> bool:
        return any(test(float(v[bound]["value"])) for v in subs(r, SD + _PT[0], "ageRange"))

    return run


CASES[("HealthcareService", "age-range-high")] = ("le20", check(
    "extension(patient-type).ageRange.high <= 20", _age_bound("high", lambda v: v <= 20)))
CASES[("HealthcareService", "age-range-low")] = ("ge60", check(
    "extension(patient-type).ageRange.low >= 60", _age_bound("low", lambda v: v >= 60)))
#: How a parameter's name is written in the query (reverse chaining carries its path).
QUERY_NAME = {
    ("Location", "_has"): "_has:HealthcareService:location:service-type",
    ("HealthcareService", "_has"): "_has:PractitionerRole:service:_id",
}


@dataclass(frozen=True, slots=True)
class Row:
    resource: str
    param: str
    type: str
    verdict: str  # "implemented" | "400"
    query: str
    results: int
    check: str


class Mock:
    """A plain HTTP client of the mock: token, the four Ror-* headers, paging."""

    def __init__(self, fhir_base: str, token_url: str, client_id: str, secret: str, ca: str) -> None:
        self.base = fhir_base
        self.session = requests.Session()
        self.session.trust_env = False
        self.session.verify = ca
        token = self.session.post(token_url, data={
            "grant_type": "client_credentials", "client_id": client_id, "client_secret": secret,
        }, timeout=30).json()["access_token"]
        self.session.headers.update({
            "Authorization": f"Bearer {token}", "Accept": "application/fhir+json",
            "Ror-Profil-Utilisateur-Code": "CU22",
            "Ror-Profil-Utilisateur-System": "1.2.250.1.213.1.6.1.66",
            "Ror-Role-Metier-Code": "AUTOMATE", "Ror-Role-Metier-System": "1.2.250.1.213.1.1.4.6",
        })

    def get(self, path: str, params: list[tuple[str, str]]) -> requests.Response:
        return self.session.get(f"{self.base}/{path}", params=params, timeout=60)

    def search(self, kind: str, params: list[tuple[str, str]]) -> Iterator[dict[str, Any]]:
        """Every match of a search, following the next links to the end."""
        response = self.get(kind, [*params, ("_count", "1000")])
        response.raise_for_status()
        bundle = response.json()
        while True:
            for entry in bundle.get("entry", ()):
                if entry["search"]["mode"] == "match":
                    yield entry["resource"]
            nxt = next((lk["url"] for lk in bundle.get("link", ()) if lk["relation"] == "next"), None)
            if nxt is None:
                return
            response = self.session.get(nxt, timeout=60)
            response.raise_for_status()
            bundle = response.json()


def consumer_params(statement: dict[str, Any]) -> list[tuple[str, str, str]]:
    out = []
    for rest in statement["rest"]:
        for resource in rest["resource"]:
            for param in resource.get("searchParam", ()):
                out.append((resource["type"], param["name"], param["type"]))
    return list(dict.fromkeys(out))


def check_param(mock: Mock, kind: str, name: str, ptype: str) -> Row:
    if (kind, name) not in CASES:
        response = mock.get(kind, [(name, "x")])
        diagnostics = " ".join(i.get("diagnostics", "") for i in response.json().get("issue", ()))
        ok = response.status_code == 400 and (name in diagnostics or kind in diagnostics)
        return Row(kind, name, ptype, "400" if ok else f"NOT REFUSED ({response.status_code})",
                   f"{name}=x", 0, diagnostics[:90])
    value = CASES[(kind, name)][0]
    if (kind, name) == ("PractitionerRole", "identifier"):
        value = next(mock.search("PractitionerRole", [("_id", "900001")]))["identifier"][0]["value"]
        check_ = check(f"identifier.value = {value}",
                       lambda r: any(i["value"] == value for i in r["identifier"]))
    else:
        check_ = CASES[(kind, name)][1]
    query_name = QUERY_NAME.get((kind, name), name)
    results = list(mock.search(kind, [(query_name, value)]))
    failing = [r["id"] for r in results if not check_(r)]
    failing += check_has(mock, kind, name, value, results)
    verdict = "implemented" if results and not failing else (
        "EMPTY" if not results else f"WRONG: {failing[:5]}")
    return Row(kind, name, ptype, verdict, f"{query_name}={value}", len(results),
               (check_.__doc__ or "").replace(SD, ""))


def check_has(mock: Mock, kind: str, name: str, value: str,
              results: list[dict[str, Any]]) -> list[str]:
    """Reverse chaining, checked from the other side."""
    if name != "_has":
        return []
    if kind == "Location":
        services = mock.search("HealthcareService", [("service-type", value)])
        expected = {ref["reference"].split("/")[1] for s in services for ref in s["location"]}
    else:
        roles = mock.search("PractitionerRole", [("_id", value)])
        expected = {ref["reference"].split("/")[1] for r in roles
                    for ref in r["healthcareService"]}
    got = {r["id"] for r in results}
    return sorted(got ^ expected)[:5]


def result_params(mock: Mock, statement: dict[str, Any]) -> list[Row]:
    """The rest-level parameters of the CapabilityStatement, and ``_elements``/``_summary``."""
    names = [p["name"] for rest in statement["rest"] for p in rest.get("searchParam", ())]
    rows = []
    for name in [*names, "_elements", "_summary"]:
        rows.append(_result_row(mock, name))
    return rows


def _result_row(mock: Mock, name: str) -> Row:
    kind = "HealthcareService"
    if name == "_count":
        bundle = mock.get(kind, [("_count", "7")]).json()
        matches = [e for e in bundle["entry"] if e["search"]["mode"] == "match"]
        zero = mock.get(kind, [("_count", "0")]).json()
        ok = len(matches) == 7 and zero["total"] == bundle["total"] and not zero.get("entry")
        return Row("*", name, "number", "implemented" if ok else "WRONG", "_count=7 / _count=0",
                   len(matches), "7 matches per page; _count=0: total only, no entry")
    if name == "_sort":
        got = [r["name"] for r in mock.search(kind, [("_tag", f"{REGION}|06"), ("_sort", "-name")])]
        ok = bool(got) and [fold(n) for n in got] == sorted((fold(n) for n in got), reverse=True)
        return Row("*", name, "token", "implemented" if ok else "WRONG", "_sort=-name", len(got),
                   "names in descending order (case and accents ignored)")
    if name in ("_include", "_revinclude"):
        value = "HealthcareService:organization" if name == "_include" else "PractitionerRole:service"
        bundle = mock.get(kind, [("_tag", f"{REGION}|06"), (name, value)]).json()
        matches = {f"HealthcareService/{e['resource']['id']}": e["resource"]
                   for e in bundle["entry"] if e["search"]["mode"] == "match"}
        included = [e["resource"] for e in bundle["entry"] if e["search"]["mode"] == "include"]
        if name == "_include":
            wanted = {m["providedBy"]["reference"] for m in matches.values()}
            got = {f"Organization/{r['id']}" for r in included}
            ok = bool(included) and wanted == got
            check = "every providedBy organisation included, nothing else"
        else:
            ok = bool(included) and all(
                any(ref["reference"] in matches for ref in r["healthcareService"]) for r in included)
            check = "each included PractitionerRole points at a match"
        return Row("*", name, "token", "implemented" if ok else "WRONG", f"{name}={value}",
                   len(included), check)
    if name == "_elements":
        bundle = mock.get(kind, [("_elements", "name,providedBy"), ("_count", "5")]).json()
        keys = [set(e["resource"]) for e in bundle["entry"]]
        ok = bool(keys) and all(k <= {"resourceType", "id", "meta", "name", "providedBy"}
                                and "name" in k for k in keys)
        return Row("*", name, "string", "implemented" if ok else "WRONG",
                   "_elements=name,providedBy", len(keys), "only those elements (+ id, meta SUBSETTED)")
    if name == "_summary":
        bundle = mock.get(kind, [("_summary", "count")]).json()
        ok = isinstance(bundle.get("total"), int) and not bundle.get("entry")
        return Row("*", name, "token", "implemented" if ok else "WRONG", "_summary=count", 0,
                   "total only, no entry")
    response = mock.get(kind, [(name, "x")])
    return Row("*", name, "?", "400" if response.status_code == 400 else "UNKNOWN", f"{name}=x",
               0, "")


def table(rows: list[Row]) -> str:
    lines = ["| resource | parameter | type | mock | query | results | every result checked by |",
             "|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r.resource} | `{r.param}` | {r.type} | {r.verdict} | `{r.query}` | "
                     f"{r.results} | {r.check} |")
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    import tempfile

    from segurlink_mocks.pki import TestPki
    from segurlink_mocks.ror import CLIENT_ID, CLIENT_SECRET, RorMock

    path = Path(argv[0] if argv else "../shared/ror-samples/CapabilityStatement-ror-consommateur.json")
    statement = json.loads(path.read_text(encoding="utf-8"))
    with tempfile.TemporaryDirectory() as tmp:
        pki = TestPki.create(Path(tmp))
        with RorMock(pki) as ror:
            mock = Mock(ror.fhir_base, ror.token_url, CLIENT_ID, CLIENT_SECRET, str(pki.ca))
            rows = [check_param(mock, *p) for p in consumer_params(statement)]
            rows += result_params(mock, statement)
    print(table(rows))
    return 0 if all(r.verdict in ("implemented", "400") for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
