"""The facts the core pages of docs/ state hold: the settings file the mocks write, the
JSON the CLI prints, the complete production settings, the contract versions.

Blocks are found by the HTML comment before them (invisible on the site):
``<!-- mock-settings -->``, ``<!-- production-settings -->`` (TOML), and
``<!-- output: segurlink ... -->`` (the command's ``--json`` output, run against the mocks).
"""

from __future__ import annotations

import json
import re
import shlex
import tomllib
from collections.abc import Iterator
from pathlib import Path

import pytest
from segurlink_mocks.stack import MockStack

from segurlink.cli import main
from segurlink.config import Settings
from segurlink.insi import InsiSettings
from tests.docs_blocks import DOCS


def marked_blocks(page: str, marker: str, language: str) -> list[tuple[str, str]]:
    """``(marker argument, block)`` for each ``language`` block after ``<!-- marker... -->``."""
    text = (DOCS / page).read_text(encoding="utf-8")
    pattern = rf"^<!-- {re.escape(marker)}:?\s*(.*?)\s*-->\n```{language}\n(.*?)^```"
    return re.findall(pattern, text, re.M | re.S)


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MockStack]:
    with MockStack(tmp_path_factory.mktemp("docs-pages-stack")) as running:
        yield running


def _shape(tables: dict[str, dict[str, object]]) -> dict[str, list[str]]:
    return {table: sorted(values) for table, values in tables.items()}


def test_mock_settings_file_is_the_one_mock_serve_writes(stack: MockStack) -> None:
    ((_, documented),) = marked_blocks("mocks.md", "mock-settings", "toml")
    written = tomllib.loads(stack.config_path.read_text(encoding="utf-8"))
    assert _shape(tomllib.loads(documented)) == _shape(written)
    assert list(tomllib.loads(documented)) == list(written), "same tables, same order"


@pytest.mark.parametrize("page", ["cli.md", "errors.md", "mocks.md"])
def test_documented_json_output_is_what_the_command_prints(
    page: str, stack: MockStack, capsys: pytest.CaptureFixture[str]
) -> None:
    for command, documented in marked_blocks(page, "output", "json"):
        argv = shlex.split(command)
        assert argv[0] == "segurlink"
        code = main(["--config", str(stack.config_path), *argv[1:]])
        printed = json.loads(capsys.readouterr().out)
        assert printed == json.loads(documented), command
        assert code == printed.get("exit_code", 0)


def test_production_settings_are_complete_for_every_service(tmp_path: Path) -> None:
    from segurlink.cda import CdaSettings
    from segurlink.dmp import DmpSettings
    from segurlink.psc import PscSettings
    from segurlink.ror import RorSettings

    ((_, documented),) = marked_blocks("production.md", "production-settings", "toml")
    path = tmp_path / "segurlink.toml"
    path.write_text(documented, encoding="utf-8")
    (tmp_path / "ans" / "TestContenuCDA-3.0").mkdir(parents=True)  # CdaSettings checks it
    settings = Settings.from_toml(path)

    software = settings.require_software()
    assert software.idam and software.instance and settings.structure is not None
    insi = InsiSettings.from_settings(settings)
    dmp = DmpSettings.from_settings(settings)
    psc = PscSettings.from_settings(settings)
    ror = RorSettings.from_settings(settings)
    cda = CdaSettings.from_settings(settings)

    endpoints = [insi.endpoint, dmp.endpoint, psc.issuer, ror.endpoint, ror.token_url,
                 ror.capacity_endpoint]
    for url in endpoints:
        assert url.startswith("https://") and "127.0.0.1" not in url and "localhost" not in url
    assert insi.tls.has_client_identity and dmp.tls.has_client_identity
    assert dmp.structure_id == "1" + settings.structure.finess and dmp.homologation_id
    assert psc.issuer == "https://auth.esw.esante.gouv.fr/auth/realms/esante-wallet"
    assert psc.auth_method == "private_key_jwt" and psc.tls.has_client_identity
    assert ror.client_secret is None and ror.tls.has_client_identity  # mTLS profile
    ror_table = settings.section("ror")
    assert {"profile_code", "profile_system", "role_code", "role_system"} <= set(ror_table)
    assert cda.kit is not None
    annuaire = settings.section("annuaire")
    assert annuaire["endpoint"].startswith("https://") and annuaire["ca_bundle"]
    # No secret in the file: they come from SEGURLINK_* variables.
    for table in tomllib.loads(documented).values():
        assert not any(k.endswith(("password", "secret", "token", "api_key")) for k in table)
    # Every certificate path is the installation's own, none of the mocks' test PKI.
    assert "pki/" not in documented


def test_contract_versions_are_those_of_the_official_material() -> None:
    """Each version docs/contracts.md names is the one of the material the tests run on."""
    from tests.conftest import shared_path

    page = (DOCS / "contracts.md").read_text(encoding="utf-8")

    wsdl = shared_path("insi-contract", "wsdl", "DESIR_ICIR_EXP_1.5.0.wsdl")
    assert wsdl.is_file() and "ICIR 1.5.0" in page and wsdl.name in page

    readme = shared_path("README.md").read_text(encoding="utf-8")
    assert "v02.05.00" in readme and "package 02.05.00" in page
    wsdl_readme = shared_path("dmp-package", "wsdl", "readme.txt").read_bytes()
    assert b"Version 2.01.04" in wsdl_readme and "2.01.04" in page

    assert "TestContenuCDA 3.0" in readme and "TestContenuCDA 3.0" in page

    for name, version in (("ror-serveur", "0.4.0-snapshot-1"),
                          ("ror-consommateur", "0.7.0-snapshot-1")):
        statement = json.loads(
            shared_path("ror-samples", f"CapabilityStatement-{name}.json").read_text("utf-8")
        )
        assert (statement["version"], statement["fhirVersion"]) == (version, "4.0.1")
        assert f"`{name}` **{version}**" in page
    assert "FHIR R4 4.0.1" in page

    discovery = json.loads(shared_path("psc-samples", "discovery.json").read_text("utf-8"))
    assert discovery["issuer"].endswith("/realms/esante-wallet") and "esante-wallet" in page


def test_changelog_follows_keep_a_changelog() -> None:
    text = (DOCS.parent / "CHANGELOG.md").read_text(encoding="utf-8")
    from segurlink import __version__

    releases = re.findall(r"^## \[([^\]]+)\](?: - (\d{4}-\d{2}-\d{2}))?", text, re.M)
    assert releases[0] == ("Unreleased", "")
    assert (__version__, "2026-11-23") in releases
    sections = set(re.findall(r"^### (\w+)", text, re.M))
    assert sections <= {"Added", "Changed", "Deprecated", "Removed", "Fixed", "Security"}


def _shell_commands(page: str) -> list[str]:
    text = (DOCS / page).read_text(encoding="utf-8")
    commands = []
    for body in re.findall(r"^```(?:bash|console)\n(.*?)^```", text, re.M | re.S):
        for line in body.splitlines():
            line = line.strip().removeprefix("$ ")
            if line.startswith("segurlink ") and not line.startswith("segurlink mocks running"):
                commands.append(line.split("  #")[0].strip())
    return commands


@pytest.mark.parametrize("page", ["index.md", "mocks.md", "cli.md", "production.md"])
def test_shell_examples_run_against_the_mocks(
    page: str, stack: MockStack, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The ``segurlink`` commands of the page's shell blocks run, as typed, against the
    running mocks (``mock serve`` itself is the stack; ``demo`` has its own test)."""
    monkeypatch.setenv("SEGURLINK_MOCK_DIR", str(stack.directory))  # the default settings
    for command in _shell_commands(page):
        argv = shlex.split(command)[1:]
        if argv[:2] == ["mock", "serve"] or argv == ["demo"]:
            continue
        assert main(argv) == 0, f"{page}: {command}\n{capsys.readouterr().err}"


def test_the_error_tree_of_the_docs_names_every_error_class() -> None:
    """docs/errors.md and the errors module docstring draw the same, complete tree."""
    import inspect

    import segurlink.errors as errors

    classes = {
        name
        for name, value in vars(errors).items()
        if inspect.isclass(value) and issubclass(value, errors.SegurlinkError)
    }
    page = (DOCS / "errors.md").read_text(encoding="utf-8")
    drawn_in_docs = set(re.findall(r"[├└]── (\w+)", page)) | {"SegurlinkError"}
    drawn_in_module = set(re.findall(r"[├└]── (\w+)", errors.__doc__ or "")) | {"SegurlinkError"}
    assert classes == drawn_in_docs
    assert classes == drawn_in_module
