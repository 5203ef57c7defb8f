"""Lazy re-exports for package ``__init__`` modules (PEP 562).

A package lists its public names and the module defining each; the module is imported on
first access only, so ``import segurlink`` (and the pytest plugin) stay cheap.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping, Sequence
from typing import Any

__all__ = ["lazy_exports"]


def lazy_exports(
    namespace: dict[str, Any], exports: Mapping[str, str], public: Sequence[str]
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """``(__getattr__, __dir__)`` for the package whose globals are ``namespace``.

    ``exports`` maps each lazily loaded name to its module, relative to the package.

    >>> ns = {"__name__": "segurlink"}
    >>> getattr_, dir_ = lazy_exports(ns, {"Ins": ".identity"}, ["Ins"])
    >>> getattr_("Ins").__name__
    'Ins'
    """
    package = namespace["__name__"]

    def __getattr__(name: str) -> Any:
        module = exports.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(module, package), name)
        namespace[name] = value
        return value

    def __dir__() -> list[str]:
        return sorted(public)

    return __getattr__, __dir__
