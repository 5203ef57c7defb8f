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
from typing import Any, NoReturn, Protocol

from ._version import __version__

__all__ = ["COMMAND_GROUPS", "CommandResult", "main"]

_log = logging.getLogger("segurlink.cli")

#: Modules that add a command group; each defines ``register(subparsers, common)``.
COMMAND_GROUPS: tuple[str, ...] = (
    "segurlink._commands.identity",
    "segurlink._commands.insi",
    "segurlink._commands.cda",
    "segurlink._commands.psc",
    "segurlink._commands.dmp",
    "segurlink._commands.mssante",
    "segurlink._commands.ror",
    "segurlink._commands.hl7",
    "segurlink._commands.gateway",
    "segurlink._commands.outbox",
    "segurlink._commands.mocks",
    "segurlink._commands.demo",
)


@dataclass(slots=True)
class CommandResult:
    """What a command produced: data for ``--json``, text for humans, an exit code.

    ``data=None`` means the command already printed its JSON document (``mock serve``
    announces itself once ready): nothing more goes to stdout with ``--json``.
    """

    data: Any
    text: str = ""
    exit_code: int = 0
    warnings: list[str] = field(default_factory=list)


class Handler(Protocol):
    def __call__(self, args: argparse.Namespace) -> CommandResult: ...


def load_settings(args: argparse.Namespace) -> Any:
    """Settings for a service command: one file, then ``SEGURLINK_<TABLE>__<KEY>`` over it.

    The file is ``--config FILE``, else ``$SEGURLINK_CONFIG``, else the ``segurlink.toml``
    of the mocks running in the state directory (``$SEGURLINK_MOCK_DIR``). Variables
    override its values (``SEGURLINK_TIMEOUTS__READ=60`` against the mocks works); other
    ``SEGURLINK_*`` variables (``SEGURLINK_CISIS_KIT``, ``SEGURLINK_MOCK_DIR``) are not
    settings and change nothing. A settings file left by mocks that were killed is not
    used: the error says the mocks are not running.
    """
    from .config import ENV_PREFIX, Settings
    from .errors import ConfigurationError

    variables = {
        name: value
        for name, value in os.environ.items()
        if name.startswith(ENV_PREFIX) and "__" in name
    }
    source = args.config or os.environ.get(ENV_PREFIX + "CONFIG") or None
    if source is None:
        from segurlink_mocks._core.installation import default_state_dir
        from segurlink_mocks.stack import stack_status

        status = stack_status(default_state_dir())
        if status.running:
            source = status.config_path
        elif status.state == "stale":
            stale = (
                f"the mocks are not running: {status.config_path} was left by a "
                f"`segurlink mock serve` ({status.owner}) that has stopped"
            )
            if not variables:
                raise ConfigurationError(
                    f"{stale}; start them again with `segurlink mock serve`, or pass --config FILE"
                )
            print(f"segurlink: warning: {stale}; using SEGURLINK_* variables only", file=sys.stderr)
        elif not variables:
            raise ConfigurationError(
                "no settings: pass --config FILE, set SEGURLINK_CONFIG, or start the local "
                f"mocks with `segurlink mock serve` (none running in {status.directory})"
            )
    _log.info(
        "settings: %s%s",
        source or "no file",
        f", overridden by {', '.join(sorted(variables))}" if variables else "",
    )
    environ = dict(variables)
    if source is not None:
        environ[ENV_PREFIX + "CONFIG"] = str(source)
    return Settings.from_env(environ)


class UsageError(Exception):
    """A command line argparse refused (exit 2); shown on one line, as JSON with ``--json``."""


class _Parser(argparse.ArgumentParser):
    """argparse with one-line errors: the message and where to read the usage."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{self.prog}: {message} (see {self.prog} --help)")


def build_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--json", action="store_true", default=argparse.SUPPRESS, help="print JSON on stdout"
    )
    # Also accepted after the command (`segurlink insi search ... --config FILE -v`).
    common.add_argument("--config", type=Path, default=argparse.SUPPRESS, help="settings TOML file")
    common.add_argument(
        "-v",
        "--verbose",
        action="count",
        dest="verbose_after",
        default=argparse.SUPPRESS,
        help="log to stderr (-vv: debug, masked)",
    )
    parser = _Parser(
        prog="segurlink",
        description="Talk to the French national e-health services (INSi, DMP, MSSanté, PSC, ROR).",
    )
    parser.add_argument("--version", action="version", version=f"segurlink {__version__}")
    parser.add_argument("--json", action="store_true", default=False, help="print JSON on stdout")
    parser.add_argument("--config", type=Path, help="settings TOML file")
    parser.add_argument(
        "-v",
        "--verbose",
        action="count",
        default=0,
        help="log to stderr: -v exchanges, -vv segurlink's debug (masked), "
        "-vvv also the libraries' INFO (zeep, urllib3...)",
    )
    groups = parser.add_subparsers(dest="group", metavar="COMMAND")
    groups.required = True
    for module_name in COMMAND_GROUPS:
        importlib.import_module(module_name).register(groups, common)
    return parser


class _OwnLogsFirst(logging.Filter):
    """segurlink's records at the chosen level; the libraries' from ``third_party`` up.

    zeep alone writes over a hundred schema lines at DEBUG per client, and the libraries'
    debug output holds raw messages (health data): they are never shown.
    """

    def __init__(self, third_party: int) -> None:
        super().__init__()
        self.third_party = third_party

    def filter(self, record: logging.LogRecord) -> bool:
        name = record.name
        if name == "segurlink" or name.startswith(("segurlink.", "segurlink_mocks")):
            return True
        return record.levelno >= self.third_party


_handler: logging.Handler | None = None


def _log_to_stderr(verbosity: int) -> None:
    global _handler
    root = logging.getLogger()
    if _handler is not None:  # main() run again in the same process (tests)
        root.removeHandler(_handler)
    _handler = logging.StreamHandler(sys.stderr)
    _handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    _handler.addFilter(_OwnLogsFirst(logging.INFO if verbosity > 2 else logging.WARNING))
    root.addHandler(_handler)
    root.setLevel(logging.DEBUG if verbosity > 1 else logging.INFO)


def _emit(result: CommandResult, as_json: bool) -> None:
    for warning in result.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    if as_json:
        if result.data is not None:
            json.dump(result.data, sys.stdout, ensure_ascii=False, indent=2, default=str)
            sys.stdout.write("\n")
    elif result.text:
        print(result.text)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``segurlink`` command; returns the exit code."""
    parser = build_parser()
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        args = parser.parse_args(argv)
    except UsageError as exc:
        if "--json" in argv:
            error = {"class": "UsageError", "code": "usage", "exit_code": 2, "message": str(exc)}
            print(json.dumps(error, ensure_ascii=False, indent=2))
        print(f"segurlink: UsageError: {exc}", file=sys.stderr)
        return 2
    verbosity = args.verbose + getattr(args, "verbose_after", 0)
    if verbosity:
        _log_to_stderr(verbosity)
    handler: Callable[[argparse.Namespace], CommandResult] | None = getattr(args, "handler", None)
    if handler is None:
        parser.print_help(sys.stderr)
        return 2
    from .errors import InputError, SegurlinkError

    try:
        try:
            result = handler(args)
        except OSError as exc:
            # Network errors are wrapped by the clients: an OSError here is a local path.
            where = f": {exc.filename}" if exc.filename else ""
            raise InputError(f"{exc.strerror or exc}{where}") from exc
    except SegurlinkError as exc:
        if args.json:
            json.dump(error_json(exc), sys.stdout, ensure_ascii=False, indent=2, default=str)
            sys.stdout.write("\n")
        print(f"segurlink: {type(exc).__name__}: {exc.message}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        return 130
    except Exception as exc:  # noqa: BLE001 - a bug of ours: one line (traceback at -vv)
        _log.debug("internal error", exc_info=True)
        if args.json:
            error = {"class": type(exc).__name__, "code": "internal", "exit_code": 1,
                     "message": str(exc)}
            print(json.dumps(error, ensure_ascii=False, indent=2, default=str))
        print(f"segurlink: internal error (please report it): {type(exc).__name__}: {exc}",
              file=sys.stderr)
        return 1
    try:
        _emit(result, args.json)
    except BrokenPipeError:  # `segurlink ... | head`: the reader left, not an error of ours
        sys.stdout = open(os.devnull, "w")
    return result.exit_code


def error_json(exc: Exception) -> dict[str, Any]:
    """The ``--json`` form of an error: ``class``, ``code``, ``exit_code``, ``message``,
    then the service's own detail fields.

    ``code`` is the service's machine-readable code when it gave one (OIDC ``error``, SOAP
    detail code or subcode, first XDS error code, first FHIR or validation issue code),
    else ``null``. The class name is never overwritten by a field.
    """
    data: dict[str, Any] = {
        "class": type(exc).__name__,
        "code": _service_code(exc),
        "exit_code": getattr(exc, "exit_code", 1),
        "message": getattr(exc, "message", str(exc)),
    }
    for name in (
        "error",
        "description",
        "subcode",
        "detail_code",
        "severity",
        "status",
        "segment",
        "field",
        "url",
    ):
        value = getattr(exc, name, None)
        if value not in (None, ""):
            data[name] = value
    issues = getattr(exc, "issues", None)
    if issues:
        data["issues"] = [
            {k: getattr(i, k, "") for k in ("severity", "location", "rule", "message")}
            for i in issues
        ]
    errors = getattr(exc, "errors", None)
    if errors:
        data["errors"] = [
            {k: getattr(e, k, "") for k in ("code", "context", "severity", "location")}
            for e in errors
        ]
    return data


def _service_code(exc: Exception) -> str | None:
    for name in ("error", "detail_code", "subcode"):
        value = getattr(exc, name, None)
        if isinstance(value, str) and value:
            return value
    for listing, attr in (("errors", "code"), ("issues", "rule")):
        items = getattr(exc, listing, None)
        if items:
            value = getattr(items[0], attr, "")
            if value:
                return str(value)
    return None


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
