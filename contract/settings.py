"""The pipeline settings file (``conf/pipelines.toml``): business-rule knobs the stages share.

Only ``[lead_scoring]`` is read here (``target_countries``, ``target_industries``, ``lookback_days``). The
defaults are :class:`LeadScoringSettings`'s, defined once below; the file overrides them. The extract reads
``lookback_days`` so it fetches exactly the days the scoring jobs read.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path

DEFAULT_SETTINGS_FILE = Path(__file__).resolve().parents[1] / "conf" / "pipelines.toml"

LOOKBACK_DAYS = 90
DEFAULT_TARGET_COUNTRIES = ("US", "CA", "GB", "DE", "FR", "JP", "AU")
DEFAULT_TARGET_INDUSTRIES = ("technology", "financial services", "healthcare", "government", "telecommunications")


class SettingsError(ValueError):
    """A settings file that cannot be used: one line naming the file and what to fix."""


@dataclass(frozen=True)
class LeadScoringSettings:
    """``[lead_scoring]`` settings; values are normalised (countries upper-case, industries lower-case,
    trimmed)."""

    target_countries: tuple[str, ...] = DEFAULT_TARGET_COUNTRIES
    target_industries: tuple[str, ...] = DEFAULT_TARGET_INDUSTRIES
    lookback_days: int = LOOKBACK_DAYS

    def __post_init__(self) -> None:
        object.__setattr__(self, "target_countries", tuple(c.strip().upper() for c in self.target_countries))
        object.__setattr__(
            self, "target_industries", tuple(i.strip().lower() for i in self.target_industries)
        )
        if self.lookback_days < 1:
            raise ValueError(f"lead_scoring.lookback_days is {self.lookback_days}: expected at least 1")


@dataclass(frozen=True)
class PipelineSettings:
    """Every section of the settings file this code reads."""

    lead_scoring: LeadScoringSettings = field(default_factory=LeadScoringSettings)


def read_section(path: Path | None, name: str, known: set[str]) -> tuple[dict[str, object], Path | None]:
    """The ``[name]`` table of a settings file and the file it came from.

    ``None`` reads ``conf/pipelines.toml`` when present; with no file the table is empty, so every reader falls
    back to its own defaults. A missing named file, malformed TOML or an unknown key is a :class:`SettingsError`:
    a typo must never fall back to a default silently.
    """
    if path is None:
        if not DEFAULT_SETTINGS_FILE.is_file():
            return {}, None
        path = DEFAULT_SETTINGS_FILE
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise SettingsError(f"settings file {path} not found: pass --settings with an existing TOML file") from None
    except tomllib.TOMLDecodeError as err:
        raise SettingsError(f"settings file {path} is not valid TOML ({err}): fix the file") from None
    section = data.get(name, {})
    unknown = sorted(set(section) - known)
    if unknown:
        raise SettingsError(
            f"settings file {path}: unknown [{name}] key(s) {', '.join(unknown)}; expected {', '.join(sorted(known))}"
        )
    return section, path


def load_settings(path: Path | None = None) -> PipelineSettings:
    """Settings from a TOML file; ``None`` reads ``conf/pipelines.toml`` when present, else the defaults."""
    section, path = read_section(path, "lead_scoring", {"target_countries", "target_industries", "lookback_days"})
    try:
        lead = LeadScoringSettings(
            **{k: tuple(v) if isinstance(v, list) else v for k, v in section.items()}  # type: ignore[arg-type]
        )
    except (TypeError, ValueError, AttributeError) as err:
        raise SettingsError(f"settings file {path}: invalid [lead_scoring] value ({err}); fix the file") from None
    return PipelineSettings(lead_scoring=lead)
