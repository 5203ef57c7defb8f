"""The memoised R4B validation gives the verdict of ``model_validate`` on the whole resource."""

from __future__ import annotations

import copy
import json
import random
from collections.abc import Iterator
from typing import Any

import pytest
from segurlink_mocks.ror import generate_dataset

from segurlink.errors import ValidationError
from segurlink.ror import to_fhir_model
from segurlink.ror._validation import ResourceValidator
from tests.conftest import SHARED

_SAMPLES = sorted((SHARED / "ror-samples").glob("*.json")) if SHARED.exists() else []


def _resources() -> list[dict[str, Any]]:
    data = generate_dataset(3, scale=4)
    out = list(data.resources.values())
    out += [json.loads(p.read_text(encoding="utf-8")) for p in _SAMPLES]
    return out


def _slots(node: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key != "resourceType":
                yield (*path, key)
                yield from _slots(value, (*path, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield (*path, index)
            yield from _slots(value, (*path, index))


def _mutate(resource: dict[str, Any], rng: random.Random) -> dict[str, Any]:
    broken = copy.deepcopy(resource)
    slot = rng.choice(list(_slots(broken)))
    parent: Any = broken
    for step in slot[:-1]:
        parent = parent[step]
    last = slot[-1]
    value = parent[last]
    choice = rng.randrange(6)
    if choice == 0:
        parent[last] = 12 if isinstance(value, str) else "douze"
    elif choice == 1:
        parent[last] = True
    elif choice == 2:
        parent[last] = None
    elif choice == 3 and isinstance(value, dict):
        value["bogusElement"] = "x"
    elif choice == 4 and isinstance(value, dict) and "url" in value:
        value["valueString"] = "second value[x]"
        value["valueBoolean"] = False
    elif choice == 5 and isinstance(parent, dict):
        del parent[last]
    else:
        parent[last] = [value] if not isinstance(value, list) else {"oops": value}
    return broken


def _verdict(check: Any, resource: dict[str, Any]) -> bool:
    try:
        check(resource)
    except ValidationError:
        return False
    return True


def test_valid_resources_pass_and_repeat_from_the_memo() -> None:
    validator = ResourceValidator()
    resources = _resources()
    for resource in resources * 2:
        validator.validate(resource)
    assert 0 < len(validator._known) < sum(len(json.dumps(r)) for r in resources)


def test_broken_resources_get_the_model_validate_verdict() -> None:
    rng = random.Random(20)
    resources = _resources()
    validator = ResourceValidator()
    for resource in resources:  # warm: every valid part is already known
        validator.validate(resource)
    rejected = 0
    for n in range(600):
        broken = _mutate(resources[n % len(resources)], rng)
        expected = _verdict(to_fhir_model, broken)
        assert _verdict(validator.validate, broken) is expected, json.dumps(broken)[:400]
        rejected += not expected
    assert rejected > 300  # the mutations do break resources


def test_error_names_the_failing_element() -> None:
    location = next(r for r in _resources() if r["resourceType"] == "Location")
    broken = copy.deepcopy(location)
    broken["extension"][1]["extension"][0]["valueInteger"] = "beaucoup"
    with pytest.raises(ValidationError) as info:
        ResourceValidator().validate(broken)
    assert info.value.issues[0].location == "Location.extension[1].extension[0].valueInteger"


def test_memo_is_bounded() -> None:
    validator = ResourceValidator(max_entries=50)
    for resource in _resources():
        validator.validate(resource)
    assert len(validator._known) <= 50
