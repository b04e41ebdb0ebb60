"""The [gate] table of the settings file."""

from __future__ import annotations

from pathlib import Path

import pytest

from quality.thresholds import DEFAULT_SETTINGS_FILE, GateThresholds, ThresholdsError, load_thresholds


def test_the_repository_settings_hold_the_documented_thresholds() -> None:
    assert load_thresholds(DEFAULT_SETTINGS_FILE) == GateThresholds(0.5, 0.9, 0.05)


def test_a_missing_key_takes_its_default(tmp_path: Path) -> None:
    path = tmp_path / "s.toml"
    path.write_text("[gate]\nmax_update_fraction = 0.25\n")
    assert load_thresholds(path) == GateThresholds(max_update_fraction=0.25)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("[gate]\nmax_update_fraktion = 0.5\n", "unknown [gate] key(s) max_update_fraktion"),
        ("[gate]\nmin_country_iso_fraction = 1.5\n", "gate.min_country_iso_fraction is 1.5"),
        ("[gate]\nmax_quarantine_fraction = true\n", "gate.max_quarantine_fraction is True"),
        ("[gate\n", "is not valid TOML"),
    ],
)
def test_a_bad_gate_table_is_one_line_naming_the_file(tmp_path: Path, body: str, message: str) -> None:
    path = tmp_path / "s.toml"
    path.write_text(body)
    with pytest.raises(ThresholdsError) as raised:
        load_thresholds(path)
    assert message in str(raised.value) and str(path) in str(raised.value) and "\n" not in str(raised.value)
