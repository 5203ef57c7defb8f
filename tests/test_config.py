from __future__ import annotations

from pathlib import Path

import pytest

from segurlink.config import Secret, Settings, SoftwareIdentity, Structure, Timeouts, TlsConfig
from segurlink.errors import ConfigurationError
from segurlink.insi import InsiSettings

TOML = """
[software]
name = "MonDUI"
version = "4.2"
idam = "IDAM-42"
instance = "0c1f7c3e-5d1a-4b7e-9a51-2f9c6d1e8a77"

[structure]
finess = "010000016"
name = "EHPAD Les Tilleuls"

[tls]
ca_bundle = "ca.pem"
cert = "org.pem"
key = "org.key"
password = "s3cret"

[timeouts]
connect = 2
read = 7.5

[insi]
endpoint = "https://insi.example/lps"
pkcs12 = "insi-auto.p12"
password = "p12-pass"
"""


def test_from_toml_resolves_paths_against_the_file(tmp_path: Path) -> None:
    path = tmp_path / "conf" / "segurlink.toml"
    path.parent.mkdir()
    path.write_text(TOML)
    settings = Settings.from_toml(path)
    assert settings.software == SoftwareIdentity(
        "MonDUI", "4.2", "IDAM-42", "0c1f7c3e-5d1a-4b7e-9a51-2f9c6d1e8a77"
    )
    assert settings.structure == Structure("010000016", "EHPAD Les Tilleuls")
    assert settings.timeouts == Timeouts(2.0, 7.5)
    assert settings.tls.ca_bundle == path.parent / "ca.pem"
    insi = InsiSettings.from_settings(settings)
    assert insi.endpoint == "https://insi.example/lps"
    # the section's PKCS#12 identity replaces the inherited PEM pair, the CA stays
    assert insi.tls.pkcs12 == path.parent / "insi-auto.p12"
    assert insi.tls.cert is None and insi.tls.key is None
    assert insi.tls.ca_bundle == path.parent / "ca.pem"
    assert insi.tls.password is not None and insi.tls.password.reveal() == "p12-pass"


def test_secrets_never_show_in_reprs(tmp_path: Path) -> None:
    path = tmp_path / "s.toml"
    path.write_text(TOML)
    settings = Settings.from_toml(path)
    text = repr(settings) + repr(InsiSettings.from_settings(settings)) + str(settings.tls.password)
    assert "s3cret" not in text and "p12-pass" not in text
    assert repr(Secret("x")) == "Secret('***')"


def test_to_mapping_and_round_trips_keep_secrets_wrapped(tmp_path: Path) -> None:
    path = tmp_path / "s.toml"
    path.write_text(TOML)
    mapping = Settings.from_toml(path).to_mapping()
    assert "s3cret" not in repr(mapping) and "p12-pass" not in repr(mapping)
    again = Settings.from_env({"SEGURLINK_CONFIG": str(path)})
    assert "s3cret" not in repr(again) and "p12-pass" not in repr(again)
    assert again.tls_for("insi") == Settings.from_toml(path).tls_for("insi")


def test_from_env_overrides_the_config_file(tmp_path: Path) -> None:
    path = tmp_path / "s.toml"
    path.write_text(TOML)
    env = {
        "SEGURLINK_CONFIG": str(path),
        "SEGURLINK_INSI__ENDPOINT": "https://other/lps",
        "SEGURLINK_TIMEOUTS__READ": "3",
        "SEGURLINK_SOFTWARE__IDAM": "IDAM-ENV",
        "UNRELATED": "x",
    }
    settings = Settings.from_env(env)
    assert InsiSettings.from_settings(settings).endpoint == "https://other/lps"
    assert settings.timeouts.read == 3.0
    assert settings.software is not None and settings.software.idam == "IDAM-ENV"


def test_from_env_does_not_read_os_environ_when_given_a_mapping(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SEGURLINK_INSI__ENDPOINT", "https://from-os/lps")
    assert Settings.from_env({}).section("insi") == {}


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"software": {"name": "x", "version": "1", "idam": "i", "instance": "not-a-uuid"}}, "UUID"),
        ({"software": {"name": "x"}}, "missing"),
        ({"structure": {"finess": "123"}}, "finess"),
        ({"timeouts": {"read": 0}}, "timeouts"),
        ({"timeouts": {"read": "slow"}}, "invalid"),
        ({"timeouts": {"read": "inf"}}, "timeouts"),
        ({"timeouts": {"connect": "nan"}}, "timeouts"),
        ({"timeouts": {"total": 5}}, "unknown"),
        ({"tls": {"key": "k.pem"}}, "tls.key"),
        ({"tls": {"pkcs12": "a.p12", "cert": "c.pem"}}, "either"),
        ({"insi": "https://x"}, "table"),
    ],
)
def test_bad_settings_are_configuration_errors(data: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        Settings.from_mapping(data)


def test_missing_sections_say_how_to_fix() -> None:
    settings = Settings()
    with pytest.raises(ConfigurationError, match="SEGURLINK_INSI__ENDPOINT"):
        InsiSettings.from_settings(settings)
    with pytest.raises(ConfigurationError, match=r"\[software\]"):
        settings.require_software()


def test_unreadable_toml(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text("[insi\n")
    with pytest.raises(ConfigurationError, match="not valid TOML"):
        Settings.from_toml(bad)
    with pytest.raises(ConfigurationError, match="cannot read"):
        Settings.from_toml(tmp_path / "absent.toml")


def test_tls_check_files(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="file not found"):
        TlsConfig(ca_bundle=tmp_path / "nope.pem").check_files()


def test_settings_are_frozen() -> None:
    settings = Settings.from_mapping({"insi": {"endpoint": "https://x/lps"}})
    with pytest.raises(AttributeError):
        settings.timeouts = Timeouts()  # type: ignore[misc]
    with pytest.raises(TypeError):
        settings.sections["insi"]["endpoint"] = "https://evil"  # type: ignore[index]
