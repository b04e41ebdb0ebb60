"""The gate's thresholds: the ``[gate]`` table of the pipeline settings file (``conf/pipelines.toml``).

    [gate]
    max_update_fraction = 0.5        # a payload touches at most this fraction of the snapshot's contacts
    min_country_iso_fraction = 0.9   # contact_washing: at least this fraction of Country values are ISO-2
    max_quarantine_fraction = 0.05   # campaign_responses: quarantined rows at most this fraction of the day's

A missing table or key takes the default above; an unknown key or a value outside [0, 1] is an error, so a typo
never falls back to a default silently.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from pathlib import Path

from contract.settings import DEFAULT_SETTINGS_FILE, SettingsError, read_section

__all__ = ["DEFAULT_SETTINGS_FILE", "GateThresholds", "ThresholdsError", "load_thresholds"]


class ThresholdsError(SettingsError):
    """A ``[gate]`` table that cannot be used: one line naming the file and what to fix."""


@dataclass(frozen=True)
class GateThresholds:
    max_update_fraction: float = 0.5
    min_country_iso_fraction: float = 0.9
    max_quarantine_fraction: float = 0.05

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1:
                raise ThresholdsError(f"gate.{f.name} is {value!r}: expected a number between 0 and 1")
            object.__setattr__(self, f.name, float(value))


def load_thresholds(path: Path | None = None) -> GateThresholds:
    """``[gate]`` of ``path`` (default: the repository's ``conf/pipelines.toml``; defaults when it is absent)."""
    try:
        section, path = read_section(path, "gate", {f.name for f in fields(GateThresholds)})
    except SettingsError as err:
        raise ThresholdsError(str(err)) from None
    try:
        return GateThresholds(**section)  # type: ignore[arg-type]
    except ThresholdsError as err:
        raise ThresholdsError(f"settings file {path}: {err}") from None
