"""Full fhir.resources (R4B) validation of received resources, with identical parts checked once.

``Model.model_validate(resource)`` costs 1.5-2 ms for a ROR Location: fhir.resources runs
Python validators on every nested element (about 80 per Location, most of them the same
codings and capacity qualifiers again and again). The checks of a FHIR element only look at
its own fields and at whether its children are present and valid, so validation composes:
an element is valid when each child is valid and the element, with its children in place,
is valid. :class:`ResourceValidator` uses that to validate each distinct element once:

* children are validated first (recursively) and then stand in the parent as a blank
  instance of their model class (which is all the parent's checks look at);
* an element's identity is its model class plus its own primitive values (typed, so
  ``1``, ``1.0`` and ``True`` differ) plus its children's identities; a table bounded
  to ``max_entries`` (about 0.5 kB each) remembers the identities already found valid,
  forgetting the oldest first, so memory stays flat however many pages are read.

The verdict is the one of ``model_validate`` on the whole resource (the tests hold the
two against each other on valid and broken resources); errors carry the FHIRPath-like
location of the failing element.
"""

from __future__ import annotations

import itertools
import json
import threading
import types
import typing
from collections.abc import Mapping
from typing import Any

from ..errors import Issue, MalformedResponse, ValidationError

__all__ = ["ResourceValidator"]

_Key = tuple[Any, ...]
# One nested FHIR-typed field: JSON name -> (model class, repeated?)
_Fields = dict[str, tuple[type[Any], bool]]


def _freeze(value: Any) -> Any:
    """A hashable, type-exact image of a JSON value (``1``, ``1.0`` and ``True`` differ)."""
    if value is None or isinstance(value, str | int | float | bool):
        return (type(value), value)
    if isinstance(value, list):
        return (list, tuple(_freeze(v) for v in value))
    return (dict, json.dumps(value, sort_keys=True, default=repr))


class ResourceValidator:
    """Validates FHIR JSON resources with the fhir.resources R4B models, memoising parts.

    >>> v = ResourceValidator()
    >>> v.validate({"resourceType": "Location", "id": "x", "status": "active"})
    >>> v.validate({"resourceType": "Location", "status": 12})
    Traceback (most recent call last):
    ...
    segurlink.errors.ValidationError: Location/? does not match the FHIR R4 model
    """

    def __init__(self, max_entries: int = 20_000) -> None:
        self.max_entries = max_entries
        self._known: dict[_Key, int] = {}
        self._serial = itertools.count(1)
        self._fields: dict[type[Any], _Fields] = {}
        self._blanks: dict[type[Any], Any] = {}
        self._lock = threading.Lock()

    def validate(self, resource: Mapping[str, Any]) -> None:
        """Raise :class:`ValidationError` unless ``resource`` matches its R4B model.

        A resource nested too deeply to be checked is a :class:`MalformedResponse`.
        """
        import pydantic
        from fhir.resources.R4B import get_fhir_model_class

        kind = resource.get("resourceType")
        try:
            model = get_fhir_model_class(str(kind))
        except (ValueError, KeyError) as exc:
            raise ValidationError(f"unknown FHIR resource type {kind!r}") from exc
        path: list[str] = [str(kind)]
        try:
            self._check(model, resource, path)
        except RecursionError as exc:
            # No FHIR resource nests hundreds of levels deep: a broken or hostile answer.
            raise MalformedResponse(
                f"{kind}/{resource.get('id', '?')} is nested too deeply to be a FHIR resource"
            ) from exc
        except pydantic.ValidationError as exc:
            where = ".".join(path)
            issues = [
                Issue(
                    "error",
                    str(err.get("msg", "")),
                    ".".join([where, *(str(p) for p in err.get("loc", ()))]),
                    str(err.get("type", "")),
                )
                for err in exc.errors()[:20]
            ]
            raise ValidationError(
                f"{kind}/{resource.get('id', '?')} does not match the FHIR R4 model", issues
            ) from exc

    def _check(self, model: type[Any], data: Any, path: list[str]) -> int:
        """Validate ``data`` as ``model``; return its identity (a serial number)."""
        fields = self._nested_fields(model)
        own: list[tuple[str, Any]] = []
        substituted: dict[str, Any] | None = None
        for name, value in data.items():
            spec = fields.get(name)
            if spec is None or value is None:
                own.append((name, _freeze(value)))
                continue
            child_model, repeated = spec
            if repeated and isinstance(value, list):
                idents: list[Any] = []
                blanks: list[Any] = []
                for index, item in enumerate(value):
                    if isinstance(item, dict):
                        path.append(f"{name}[{index}]")
                        idents.append(self._check(child_model, item, path))
                        path.pop()
                        blanks.append(self._blank(child_model))
                    else:  # None or a wrong type: the parent's validation reports it
                        idents.append(_freeze(item))
                        blanks.append(item)
                own.append((name, tuple(idents)))
                substituted = substituted if substituted is not None else dict(data)
                substituted[name] = blanks
            elif not repeated and isinstance(value, dict):
                path.append(name)
                own.append((name, self._check(child_model, value, path)))
                path.pop()
                substituted = substituted if substituted is not None else dict(data)
                substituted[name] = self._blank(child_model)
            else:
                own.append((name, _freeze(value)))
        key: _Key = (model, tuple(own))
        known = self._known.get(key)
        if known is not None:
            return known
        model.model_validate(substituted if substituted is not None else data)
        serial = next(self._serial)
        with self._lock:
            self._known[key] = serial
            while len(self._known) > self.max_entries:
                # Forget the oldest identities: a parent that named one is simply re-checked.
                self._known.pop(next(iter(self._known)))
        return serial

    def _blank(self, model: type[Any]) -> Any:
        blank = self._blanks.get(model)
        if blank is None:
            blank = self._blanks[model] = model.model_construct()
        return blank

    def _nested_fields(self, model: type[Any]) -> _Fields:
        """The fields of ``model`` holding a FHIR data type that can stand as a blank."""
        found = self._fields.get(model)
        if found is not None:
            return found
        from fhir_core.fhirabstractmodel import FHIRAbstractModel

        out: _Fields = {}
        for name, info in model.model_fields.items():
            # ``_x`` primitive extensions are read by the parent's required-element check:
            # they stay in the parent as they are.
            if name.endswith("__ext"):
                continue
            annotation: Any = info.annotation
            repeated = False
            while True:
                origin = typing.get_origin(annotation)
                if origin in (typing.Union, types.UnionType):
                    args = [a for a in typing.get_args(annotation) if a is not type(None)]
                    if len(args) != 1:
                        annotation = None
                        break
                    annotation = args[0]
                elif origin is list:
                    repeated = True
                    annotation = typing.get_args(annotation)[0]
                else:
                    break
            getter = getattr(annotation, "get_model_klass", None)
            if getter is None:
                continue
            child = getter()
            if (
                not isinstance(child, type)
                or not issubclass(child, FHIRAbstractModel)
                or "resource_type" in child.model_fields  # a resource (contained...)
                or child.__resource_type__ in ("Resource", "DomainResource")
                or child.__resource_type__ == "FHIRPrimitiveExtension"
            ):
                continue
            out[info.alias or name] = (child, repeated)
        self._fields[model] = out
        return out
