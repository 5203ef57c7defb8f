"""``segurlink cda build|validate|types``."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from ..cli import CommandResult
from ._args import existing_file, new_file, non_empty_path

__all__ = ["register"]

_MEDIA_BY_SUFFIX = {
    ".pdf": "application/pdf",
    ".txt": "text/plain",
    ".rtf": "text/rtf",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".tif": "image/tiff",
    ".tiff": "image/tiff",
}


def register(groups: Any, common: argparse.ArgumentParser) -> None:
    cda = groups.add_parser("cda", help="CDA R2 documents: build and validate (CI-SIS)")
    commands = cda.add_subparsers(dest="command", metavar="COMMAND")
    commands.required = True

    build = commands.add_parser(
        "build",
        parents=[common],
        help="build a level-1 CDA from a JSON/TOML description and a PDF (or text, RTF...)",
    )
    build.add_argument(
        "description", type=existing_file, help="document description (.json or .toml)"
    )
    build.add_argument(
        "body", type=existing_file, help="the file to embed (PDF, TXT, RTF, JPEG, TIFF)"
    )
    build.add_argument("-o", "--output", type=new_file, help="write the CDA here (default: stdout)")
    build.add_argument("--media-type", help="media type of the body (default: from its suffix)")
    build.add_argument(
        "--no-validate", action="store_true", help="skip segurlink's header rules after building"
    )
    build.set_defaults(handler=_build)

    validate = commands.add_parser(
        "validate",
        parents=[common],
        help="validate CDA files: header rules, XSD, ANS schematrons (exit 1 on any error)",
    )
    # Not existing_file: a batch reports a missing file among the others and goes on (exit 1).
    validate.add_argument("files", nargs="+", type=non_empty_path, metavar="FILE")
    validate.add_argument("--kit", type=Path, help="CI-SIS TestContenuCDA kit directory")
    validate.add_argument(
        "--schematron",
        action="append",
        default=None,
        help="schematron to run (name or path; repeatable); default: chosen from templateIds",
    )
    validate.add_argument(
        "--cache-dir", type=Path, help="compiled schematron cache (default ~/.cache/segurlink)"
    )
    validate.add_argument(
        "--rules-only", action="store_true", help="only segurlink's header rules (no kit)"
    )
    validate.set_defaults(handler=_validate)

    types = commands.add_parser("types", parents=[common], help="list the catalogued types")
    types.set_defaults(handler=_types)


def _load_description(path: Path) -> Any:
    from ..errors import InputError

    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc}") from exc
    try:
        if path.suffix.lower() == ".toml":
            import tomllib

            return tomllib.loads(raw.decode("utf-8"))
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise InputError(f"{path} is not valid {path.suffix.lstrip('.').upper()}: {exc}") from exc


def _build(args: argparse.Namespace) -> CommandResult:
    from ..cda import build_document, check_header
    from ..cda._description import document_from_description
    from ..cda.validate import _as_element
    from ..errors import InputError

    data = _load_description(args.description)
    try:
        content = args.body.read_bytes()
    except OSError as exc:
        raise InputError(f"cannot read {args.body}: {exc}") from exc
    media_type = args.media_type or _MEDIA_BY_SUFFIX.get(args.body.suffix.lower())
    if media_type is None:
        raise InputError(f"cannot tell the media type of {args.body.name}; pass --media-type")
    document = document_from_description(data, content, media_type=media_type)
    xml = build_document(document)
    issues = [] if args.no_validate else check_header(_as_element(xml))
    errors = [i for i in issues if i.severity == "error"]
    summary = {
        "id": document.id.xds_unique_id,
        "set_id": document.set_id.xds_unique_id,
        "version": document.version,
        "type": document.document_type.code.code,
        "bytes": len(xml),
        "output": str(args.output) if args.output else None,
        "issues": [_issue(i) for i in issues],
    }
    if args.output:
        args.output.write_bytes(xml)
        text = f"wrote {args.output} ({len(xml)} bytes, id {document.id.xds_unique_id})"
    else:
        text = xml.decode("utf-8")
    if getattr(args, "json", False) and not args.output:
        summary["document"] = xml.decode("utf-8")
    return CommandResult(data=summary, text=text, exit_code=1 if errors else 0)


def _issue(issue: Any) -> dict[str, str]:
    return {
        "severity": issue.severity,
        "layer": issue.layer,
        "rule": issue.rule,
        "location": issue.location,
        "message": issue.message,
    }


def _validate(args: argparse.Namespace) -> CommandResult:
    from ..cda.validate import CdaIssue, CdaSettings, Layer, ValidationReport, Validator
    from ..errors import ConfigurationError, InputError, MalformedResponse

    # Precedence: --kit / --cache-dir, then a [cda] table of --config, then the environment.
    settings = CdaSettings.from_env()
    if getattr(args, "config", None):
        from ..config import Settings

        loaded = Settings.from_toml(args.config)
        if loaded.section("cda"):
            settings = CdaSettings.from_settings(loaded)
    if args.kit is not None:
        settings = CdaSettings(kit=args.kit.expanduser(), cache_dir=settings.cache_dir)
    if args.cache_dir is not None:
        settings = CdaSettings(kit=settings.kit, cache_dir=args.cache_dir.expanduser())
    if settings.kit is not None and not settings.kit.is_dir():
        # Checked before any file: a missing kit is the setup's error, not the documents'.
        raise ConfigurationError(f"CI-SIS kit directory not found: {settings.kit}")
    validator = Validator(settings)
    layers: tuple[Layer, ...] | None = ("rules",) if args.rules_only else None
    warnings: list[str] = []
    if settings.kit is None and not args.rules_only:
        if args.schematron:
            raise ConfigurationError(
                "--schematron needs the CI-SIS kit: pass --kit, set SEGURLINK_CISIS_KIT "
                "or [cda] kit"
            )
        warnings.append(
            "no CI-SIS kit configured (--kit, SEGURLINK_CISIS_KIT, [cda] kit): only "
            "segurlink's header rules ran, not the XSD nor the schematrons"
        )
    results: list[dict[str, Any]] = []
    lines: list[str] = []
    failed = False
    for path in args.files:
        try:
            data = path.read_bytes()
        except OSError as exc:
            # This file could not be validated: say so, check the others, exit 1 at the end.
            reason = exc.strerror or str(exc)
            issue = CdaIssue(
                "error", f"cannot read {path}: {reason}", "", "segurlink:file", "rules"
            )
            failed = True
            results.append(
                {
                    "file": str(path),
                    "ok": False,
                    "layers": [],
                    "schematrons": [],
                    "errors": 1,
                    "warnings": 0,
                    "issues": [_issue(issue)],
                }
            )
            lines.append(f"ERROR {path}: cannot read it ({reason})")
            continue
        try:
            report = validator.validate(data, layers=layers, schematrons=args.schematron)
        except (MalformedResponse, InputError) as exc:
            # Not XML (or refused: DOCTYPE): this file fails, the others are still checked.
            issue = CdaIssue("error", exc.message, "/", "segurlink:xml", "rules")
            report = ValidationReport((issue,), ("rules",))
        failed = failed or not report.ok
        results.append(
            {
                "file": str(path),
                "ok": report.ok,
                "layers": list(report.layers),
                "schematrons": list(report.schematrons),
                "errors": len(report.errors),
                "warnings": len(report.warnings),
                "issues": [_issue(i) for i in report.issues],
            }
        )
        status = "OK" if report.ok else "FAIL"
        lines.append(
            f"{status} {path} ({len(report.errors)} errors, {len(report.warnings)} warnings; "
            f"layers: {', '.join(report.layers)})"
        )
        for issue in report.issues:
            if issue.severity in ("error", "warning"):
                lines.append(
                    f"  {issue.severity} [{issue.layer}] {issue.rule} at {issue.location}: "
                    f"{issue.message}"
                )
    return CommandResult(
        data=results, text="\n".join(lines), exit_code=1 if failed else 0, warnings=warnings
    )


def _types(args: argparse.Namespace) -> CommandResult:
    from ..cda.codes import DOCUMENT_TYPES

    data = [
        {
            "key": t.key,
            "code": t.code.code,
            "code_system": t.code.code_system,
            "display_name": t.display_name,
            "template_ids": list(t.template_ids),
        }
        for t in DOCUMENT_TYPES.values()
    ]
    text = "\n".join(f"{d['key']:<28} {d['code']:<10} {d['display_name']}" for d in data)
    return CommandResult(data=data, text=text)
