"""``segurlink identity check-nir``."""

from __future__ import annotations

import argparse
from typing import Any

from ..cli import CommandResult

__all__ = ["register"]

_USAGE = (
    "check-nir takes one NIR: its 15 characters as one argument (quote it if it has spaces), "
    "or its 13-character matricule and its 2-digit key as two arguments"
)


def register(groups: Any, common: argparse.ArgumentParser) -> None:
    identity = groups.add_parser("identity", help="identity tools (NIR / NIA / INS)")
    commands = identity.add_subparsers(dest="command", metavar="COMMAND")
    commands.required = True
    check = commands.add_parser(
        "check-nir",
        parents=[common],
        help=(
            "check the key of one NIR / NIA: 15 characters, or matricule and key as two "
            "arguments; exit 1 when the key is wrong, 2 when it is not a NIR"
        ),
        description=(
            "Check the key of one NIR / NIA. Give it as one argument of 15 characters "
            "('297022A02077878', or quoted with separators: '2 97 02 2A 020 778 78'), or as "
            "two arguments, the 13-character matricule then the 2-digit key "
            "('297022A020778 78'). Exit 0 when the key is right, 1 when it is wrong, 2 when "
            "the value is not a NIR."
        ),
    )
    check.add_argument(
        "nir", nargs="+", metavar="NIR", help="e.g. 297022A02077878, or 297022A020778 78"
    )
    check.set_defaults(handler=_check_nir)


def _check_nir(args: argparse.Namespace) -> CommandResult:
    from ..errors import InputError
    from ..identity.nir import _SEPARATORS, nir_key, split_nir

    parts: list[str] = args.nir
    if len(parts) == 1:
        matricule, key = split_nir(parts[0])
    elif len(parts) == 2:
        # Two 15-character NIRs must not be read as one: the first is the matricule alone.
        lengths = [len(_SEPARATORS.sub("", part)) for part in parts]
        if lengths != [13, 2]:
            raise InputError(
                f"{_USAGE}; got two arguments of {lengths[0]} and {lengths[1]} characters"
            )
        matricule, key = split_nir(parts[0] + parts[1])
    else:
        raise InputError(f"{_USAGE}; got {len(parts)} arguments")
    expected = f"{nir_key(matricule):02d}"
    valid = key == expected
    data = {"matricule": matricule, "key": key, "expected_key": expected, "valid": valid}
    if valid:
        return CommandResult(data=data, text=f"{matricule} {key}: valid key")
    # The command's verdict, like `cda validate` on an invalid document: exit 1, not 2.
    return CommandResult(
        data=data, text=f"{matricule} {key}: invalid key, expected {expected}", exit_code=1
    )
