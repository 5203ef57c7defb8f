"""The ``segurlink`` command: thin; parses arguments, calls the library, maps errors.

Exit codes: 0 ok; 1 the service or the document says no (not found, refused, invalid
document, transport failure); 2 usage, configuration or input error (nothing was sent).
Results go to stdout (``--json`` for machine-readable output on every command),
diagnostics to stderr.

Each service registers its own command group from a module listed in
:data:`COMMAND_GROUPS` (``segurlink._commands.<service>``, outside the service package so
building the parser imports no service code); handlers import their heavy dependencies only
when a command runs, so ``segurlink --version`` stays fast.
"""

from __future__ import annotations

import argparse
import importlib
import json
import logging
import os
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from ._version import __version__

__all__ = ["COMMAND_GROUPS", "CommandResult", "main"]

#: Modules that add a command group; each defines ``register(subparsers, common)``.
COMMAND_GROUPS: tuple[str, ...] = (
    "segurlink._commands.identity",
    "segurlink._commands.insi",
    "segurlink._commands.cda",
    "segurlink._commands.psc",
    "segurlink._commands.dmp",
    "segurlink._commands.ror",
    "segurlink._commands.outbox",
    "segurlink._commands.mocks",
)


@dataclass(slots=True)
class CommandResult:
    """What a command produced: data for ``--json``, text for humans, an exit code."""

    data: Any
    text: str = ""
    exit_code: int = 0
    warnings: list[str] = field(default_factory=list)


class Handler(Protocol):
    def __call__(self, args: argparse.Namespace) -> CommandResult: ...


def load_settings(args: argparse.Namespace) -> Any:
    """Settings for a service command.

    Order: ``--config FILE``; ``SEGURLINK_CONFIG`` / ``SEGURLINK_*`` variables; the settings
    written by a running ``segurlink mock serve`` (the embedded default).
    """
    from .config import Settings
    from .errors import ConfigurationError

    if args.config:
        return Settings.from_toml(args.config)
    if any(k.startswith("SEGURLINK_") and k != "SEGURLINK_MOCK_DIR" for k in os.environ):
        return Settings.from_env()
    from segurlink_mocks._core.installation import default_state_dir

    mock_config = default_state_dir() / "segurlink.toml"
    if mock_config.is_file():
        return Settings.from_toml(mock_config)
    raise ConfigurationError(
        "no settings: pass --config FILE, set SEGURLINK_CONFIG, "
        "or start the local mocks with `segurlink mock serve`"
    )


def build_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--json", action="store_true", default=argparse.SUPPRESS, help="print JSON on stdout"
    )
    # Also accepted after the command (`segurlink insi search ... --config FILE`).
    common.add_argument("--config", type=Path, default=argparse.SUPPRESS, help="settings TOML file")
    parser = argparse.ArgumentParser(
        prog="segurlink",
        description="Talk to the French national e-health services (INSi, DMP, MSSanté, PSC, ROR).",
    )
    parser.add_argument("--version", action="version", version=f"segurlink {__version__}")
    parser.add_argument("--json", action="store_true", default=False, help="print JSON on stdout")
    parser.add_argument("--config", type=Path, help="settings TOML file")
    parser.add_argument(
        "-v", "--verbose", action="count", default=0, help="log to stderr (-vv: debug, masked)"
    )
    groups = parser.add_subparsers(dest="group", metavar="COMMAND")
    groups.required = True
    for module_name in COMMAND_GROUPS:
        importlib.import_module(module_name).register(groups, common)
    return parser


def _emit(result: CommandResult, as_json: bool) -> None:
    for warning in result.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    if as_json:
        json.dump(result.data, sys.stdout, ensure_ascii=False, indent=2, default=str)
        sys.stdout.write("\n")
    elif result.text:
        print(result.text)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``segurlink`` command; returns the exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.verbose:
        logging.basicConfig(
            level=logging.DEBUG if args.verbose > 1 else logging.INFO,
            stream=sys.stderr,
            format="%(levelname)s %(name)s: %(message)s",
        )
    handler: Callable[[argparse.Namespace], CommandResult] | None = getattr(args, "handler", None)
    if handler is None:
        parser.print_help(sys.stderr)
        return 2
    from .errors import SegurlinkError

    try:
        result = handler(args)
    except SegurlinkError as exc:
        if args.json:
            json.dump(
                {"error": type(exc).__name__, "message": exc.message, **_error_fields(exc)},
                sys.stdout,
                ensure_ascii=False,
                indent=2,
            )
            sys.stdout.write("\n")
        print(f"segurlink: {type(exc).__name__}: {exc.message}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        return 130
    try:
        _emit(result, args.json)
    except BrokenPipeError:  # `segurlink ... | head`: the reader left, not an error of ours
        sys.stdout = open(os.devnull, "w")
    return result.exit_code


def _error_fields(exc: Exception) -> dict[str, Any]:
    fields = {}
    for name in ("subcode", "detail_code", "severity", "status", "field", "error", "url"):
        value = getattr(exc, name, None)
        if value not in (None, ""):
            fields[name] = value
    issues = getattr(exc, "issues", None)
    if issues:
        fields["issues"] = [
            {k: getattr(i, k) for k in ("severity", "location", "rule", "message")} for i in issues
        ]
    return fields


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
