"""Settings of a run: one precedence (flag > environment > Luigi config > default) for every setting the
``scc`` command exposes, S3 settings from ``[s3]`` and the environment, secrets only from the environment."""

from __future__ import annotations

import os
from pathlib import Path

import luigi
import pytest

from lake.errors import LakeError
from lake.settings import ConfigError, S3Settings
from luigi_tasks import config
from luigi_tasks.config import SETTINGS, s3_settings


@pytest.fixture(autouse=True)
def no_pinned_flags():
    config.clear_flags()
    yield
    config.clear_flags()


@pytest.fixture()
def luigi_option():
    """Set ``[section] option`` in the Luigi config for one test, then restore it."""
    parser = luigi.configuration.get_config()
    undo: list[tuple[str, str, str | None]] = []

    def set_option(section: str, option: str, value: str) -> None:
        if not parser.has_section(section):
            parser.add_section(section)
        old = parser.get(section, option, raw=True) if parser.has_option(section, option) else None
        undo.append((section, option, old))
        parser.set(section, option, value)

    yield set_option
    for section, option, old in reversed(undo):
        if old is None:
            parser.remove_option(section, option)
        else:
            parser.set(section, option, old)


def test_the_lake_flag_wins_over_scc_lake_url_which_wins_over_the_config(monkeypatch, luigi_option) -> None:
    from luigi_tasks.cli import configure_environment

    luigi_option("lake", "url", "file:///from/config")
    monkeypatch.delenv("SCC_LAKE_URL", raising=False)
    assert config.lake_url() == "file:///from/config"
    monkeypatch.setenv("SCC_LAKE_URL", "file:///from/env")  # what the OpenShift ConfigMap sets
    assert config.lake_url() == "file:///from/env"
    configure_environment("/from/flag/")
    assert config.lake_url() == "file:///from/flag"
    assert config.configured_lake().url == "file:///from/flag"


# (setting, a flag value, an environment value, a config value), for every setting the command line exposes
PRECEDENCE = [
    ("lake", "file:///flag", "file:///env", "file:///config"),
    ("workers", "5", "4", "3"),
    ("local_scheduler", "true", "false", "true"),
    ("full_refresh", "true", "false", "true"),
    ("approve_initial_load", "true", "false", "true"),
    ("scheduler_url", "http://flag:8082", "http://env:8082", "http://config:8082"),
]


def test_every_setting_the_command_line_exposes_is_in_the_precedence_table() -> None:
    assert sorted(name for name, *_ in PRECEDENCE) == sorted(n for n, s in SETTINGS.items() if s.flag)


@pytest.mark.parametrize(("name", "flag", "env", "conf"), PRECEDENCE, ids=[p[0] for p in PRECEDENCE])
def test_flag_beats_environment_beats_luigi_config_beats_default(
    name, flag, env, conf, monkeypatch, luigi_option
) -> None:
    setting = SETTINGS[name]
    monkeypatch.delenv(setting.env, raising=False)
    if luigi.configuration.get_config().has_option(setting.section, setting.option):
        luigi_option(setting.section, setting.option, "")  # an empty option counts as unset
    assert config.resolve(name) == setting.default
    luigi_option(setting.section, setting.option, conf)
    assert config.resolve(name) == conf
    monkeypatch.setenv(setting.env, env)
    assert config.resolve(name) == env
    config.pin_flags(**{name: flag})
    assert config.resolve(name) == flag


@pytest.fixture()
def luigi_s3_section():
    """Options set in luigi's ``[s3]`` section for one test, then removed."""
    config = luigi.configuration.get_config()
    created = not config.has_section("s3")
    if created:
        config.add_section("s3")
    before = dict(config.items("s3", raw=True)) if not created else {}
    yield lambda **options: [config.set("s3", k, v) for k, v in options.items()]
    if created:
        config.remove_section("s3")
    else:
        for key in list(dict(config.items("s3", raw=True))):
            config.remove_option("s3", key)
        for key, value in before.items():
            config.set("s3", key, value)


def test_settings_come_from_config_with_the_endpoint_overridable_by_env(
    luigi_s3_section, monkeypatch
) -> None:
    luigi_s3_section(endpoint_url="http://config-host:8333", region="eu-west-1", path_style="false")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKID")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "from-env")
    monkeypatch.delenv("SCC_S3_ENDPOINT_URL", raising=False)
    settings = s3_settings()
    assert settings == S3Settings("http://config-host:8333", "eu-west-1", False, "AKID", "from-env")
    monkeypatch.setenv("SCC_S3_ENDPOINT_URL", "https://env-host:9000/")
    settings = s3_settings()
    assert (settings.endpoint_url, settings.scheme, settings.endpoint_host) == (
        "https://env-host:9000",
        "https",
        "env-host:9000",
    )


def test_credentials_in_luigi_cfg_must_be_environment_references(luigi_s3_section, monkeypatch) -> None:
    monkeypatch.delenv("AWS_ACCESS_KEY_ID", raising=False)
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY", raising=False)
    monkeypatch.setenv("LAKE_KEY", "AKID-from-ref")
    monkeypatch.setenv("LAKE_SECRET", "secret-from-ref")
    luigi_s3_section(aws_access_key_id="${LAKE_KEY}", aws_secret_access_key="${LAKE_SECRET}")
    settings = s3_settings()
    assert (settings.access_key, settings.secret_key) == ("AKID-from-ref", "secret-from-ref")
    luigi_s3_section(aws_secret_access_key="literal-secret")
    with pytest.raises(ConfigError, match="environment reference") as error:
        s3_settings()
    assert "literal-secret" not in str(error.value)


@pytest.mark.integration
def test_the_fixture_left_the_environment_alone(seaweed) -> None:
    assert os.environ.get("AWS_SECRET_ACCESS_KEY") != seaweed.secret_key
    assert os.environ.get("SCC_S3_ENDPOINT_URL") != seaweed.endpoint_url


def test_credentials_referenced_in_luigi_cfg_never_show_in_luigi_output(
    luigi_s3_section, monkeypatch
) -> None:
    import warnings

    from luigi_tasks.config import s3

    monkeypatch.setenv("LAKE_SECRET", "secret-from-ref")
    luigi_s3_section(aws_secret_access_key="${LAKE_SECRET}")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        section = s3()
    assert "secret-from-ref" not in repr(section)
    assert not [w for w in caught if "secret-from-ref" in str(w.message)]


def test_the_spark_conf_command_prints_conf_args_and_fails_in_one_line(tmp_path: Path, capsys) -> None:
    from luigi_tasks.spark_submit import main

    assert main(["--lake", f"file://{tmp_path}/lake"]) == 0
    assert capsys.readouterr().out == "\n"  # a local lake needs nothing
    assert main(["--lake", "hdfs://nn/lake"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: lake URL 'hdfs://nn/lake' has scheme 'hdfs'") and err.count("\n") == 1


def test_an_unset_environment_reference_in_the_config_is_one_line(luigi_s3_section, monkeypatch) -> None:
    monkeypatch.delenv("SCC_TEST_UNSET_ENDPOINT", raising=False)
    luigi_s3_section(endpoint_url="${SCC_TEST_UNSET_ENDPOINT}")
    monkeypatch.setenv("SCC_LAKE_URL", "s3://bucket/lake")
    monkeypatch.delenv("SCC_S3_ENDPOINT_URL", raising=False)
    with pytest.raises(LakeError, match="SCC_TEST_UNSET_ENDPOINT") as error:
        config.configured_lake()
    assert "\n" not in str(error.value)


def test_the_readme_settings_table_matches_the_resolver() -> None:
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Settings", 1)[1].split("\n## ", 1)[0]
    rows = [[cell.strip() for cell in line.strip().strip("|").split("|")]
            for line in section.splitlines() if line.startswith("| ") and "---" not in line][1:]
    documented = {(row[1].strip("`") or None, row[2].strip("`"), row[3].strip("`")) for row in rows if row[2]}
    assert documented == {(s.flag, s.env, f"[{s.section}] {s.option}") for s in SETTINGS.values()}
