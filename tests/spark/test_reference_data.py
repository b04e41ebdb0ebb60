"""The shipped reference data (``conf/reference/*.csv``): complete, unambiguous, normalised, and the job-level
rules behave the same in Spark (Java regex) and Python."""

from __future__ import annotations

import csv
import re
from collections import Counter
from pathlib import Path

import pytest
from chispa import assert_df_equality

from jobs._common import read_country_aliases, read_job_level_rules, read_state_aliases
from spark.schemas import COUNTRIES_REFERENCE, STATES_REFERENCE
from spark.washing import JOB_LEVELS, with_country_iso, with_job_level, with_state_code

REFERENCE = Path(__file__).resolve().parents[2] / "conf" / "reference"

# ISO 3166-1 alpha-2: the 249 officially assigned codes.
ISO2 = " ".join(
    [
        "AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE",
        "BF BG BH BI BJ BL BM BN BO BQ BR BS BT BV BW BY BZ CA CC CD",
        "CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM",
        "DO DZ EC EE EG EH ER ES ET FI FJ FK FM FO FR GA GB GD GE GF",
        "GG GH GI GL GM GN GP GQ GR GS GT GU GW GY HK HM HN HR HT HU",
        "ID IE IL IM IN IO IQ IR IS IT JE JM JO JP KE KG KH KI KM KN",
        "KP KR KW KY KZ LA LB LC LI LK LR LS LT LU LV LY MA MC MD ME",
        "MF MG MH MK ML MM MN MO MP MQ MR MS MT MU MV MW MX MY MZ NA",
        "NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM",
        "PN PR PS PT PW PY QA RE RO RS RU RW SA SB SC SD SE SG SH SI",
        "SJ SK SL SM SN SO SR SS ST SV SX SY SZ TC TD TF TG TH TJ TK",
        "TL TM TN TO TR TT TV TW TZ UA UG UM US UY UZ VA VC VE VG VI",
        "VN VU WF WS YE YT ZA ZM ZW",
    ]
).split()

US_CODES = (
    "AL AK AZ AR CA CO CT DE DC FL GA HI ID IL IN IA KS KY LA ME MD MA MI MN MS MO "
    "MT NE NV NH NJ NM NY NC ND OH OK OR PA RI SC SD TN TX UT VT VA WA WV WI WY"
).split()
CA_CODES = "AB BC MB NB NL NS NT NU ON PE QC SK YT".split()


def _rows(name: str) -> list[dict[str, str]]:
    with (REFERENCE / name).open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def _normalised(alias: str) -> str:
    return re.sub(r"\s+", " ", alias.strip().upper())


def test_iso2_list_of_this_test_has_all_249_codes() -> None:
    assert len(ISO2) == len(set(ISO2)) == 249


def test_countries_csv_has_no_duplicate_alias() -> None:
    counts = Counter(r["alias"] for r in _rows("countries.csv"))
    assert [a for a, n in counts.items() if n > 1] == []


def test_countries_csv_covers_every_iso2_code_with_its_own_code_an_iso3_code_and_a_name() -> None:
    by_code: dict[str, set[str]] = {}
    for row in _rows("countries.csv"):
        by_code.setdefault(row["iso2"], set()).add(row["alias"])
    assert sorted(by_code) == sorted(ISO2)
    for code, aliases in by_code.items():
        assert code in aliases, code
        assert any(len(a) == 3 and a.isalpha() and a.isupper() for a in aliases), f"{code} has no ISO-3 alias"
        assert any(len(a) > 3 for a in aliases), f"{code} has no name"


def test_countries_csv_aliases_are_stored_normalised() -> None:
    assert [r["alias"] for r in _rows("countries.csv") if r["alias"] != _normalised(r["alias"])] == []


@pytest.mark.parametrize(
    ("alias", "code"),
    [
        ("USA", "US"),
        ("U.S.", "US"),
        ("U.S.A.", "US"),
        ("UNITED STATES OF AMERICA", "US"),
        ("AMERICA", "US"),
        ("UNITED STATES", "US"),
        ("UK", "GB"),
        ("U.K.", "GB"),
        ("GREAT BRITAIN", "GB"),
        ("ENGLAND", "GB"),
        ("UNITED KINGDOM", "GB"),
        ("DEUTSCHLAND", "DE"),
        ("GERMANY", "DE"),
        ("DEU", "DE"),
        ("HOLLAND", "NL"),
        ("THE NETHERLANDS", "NL"),
        ("KOREA", "KR"),
        ("SOUTH KOREA", "KR"),
        ("NORTH KOREA", "KP"),
        ("RUSSIA", "RU"),
        ("CZECH REPUBLIC", "CZ"),
        ("CZECHIA", "CZ"),
        ("VIETNAM", "VN"),
        ("TURKEY", "TR"),
        ("TÜRKIYE", "TR"),
        ("IVORY COAST", "CI"),
        ("CÔTE D'IVOIRE", "CI"),
        ("COTE D'IVOIRE", "CI"),
        ("UAE", "AE"),
        ("CONGO", "CG"),
        ("DEMOCRATIC REPUBLIC OF THE CONGO", "CD"),
        ("TAIWAN", "TW"),
        ("IRAN", "IR"),
        ("BOLIVIA", "BO"),
        ("CANADA", "CA"),
        ("JAPAN", "JP"),
        ("AUSTRALIA", "AU"),
        ("FRANCE", "FR"),
        ("INDIA", "IN"),
        ("ST. LUCIA", "LC"),
        ("BOSNIA AND HERZEGOVINA", "BA"),
        ("BOSNIA & HERZEGOVINA", "BA"),
        ("GEORGIA", "GE"),
        ("MACEDONIA", "MK"),
        ("SWAZILAND", "SZ"),
    ],
)
def test_countries_csv_knows_common_variants(alias: str, code: str) -> None:
    assert dict(read_country_aliases(REFERENCE))[alias] == code


def test_states_csv_has_every_us_state_dc_and_canadian_province_with_code_and_name() -> None:
    rows = _rows("states.csv")
    codes = {(r["country_iso"], r["code"]) for r in rows}
    assert {("US", c) for c in US_CODES} <= codes
    assert {("CA", c) for c in CA_CODES} == {(k, c) for k, c in codes if k == "CA"}
    aliases = {(r["country_iso"], r["alias"]): r["code"] for r in rows}
    for country, code in codes:
        assert aliases[(country, code)] == code  # the code is its own alias
    for alias, code in [
        ("CALIFORNIA", "CA"),
        ("NEW YORK", "NY"),
        ("DISTRICT OF COLUMBIA", "DC"),
        ("CALIF.", "CA"),
        ("WASHINGTON", "WA"),
        ("PUERTO RICO", "PR"),
    ]:
        assert aliases[("US", alias)] == code
    for alias, code in [
        ("QUEBEC", "QC"),
        ("QUÉBEC", "QC"),
        ("ONTARIO", "ON"),
        ("BRITISH COLUMBIA", "BC"),
        ("PEI", "PE"),
        ("NEWFOUNDLAND AND LABRADOR", "NL"),
        ("YUKON", "YT"),
    ]:
        assert aliases[("CA", alias)] == code


def test_states_csv_has_no_duplicate_alias_per_country_and_stores_aliases_upper_trimmed() -> None:
    rows = _rows("states.csv")
    counts = Counter((r["country_iso"], r["alias"]) for r in rows)
    assert [k for k, n in counts.items() if n > 1] == []
    assert [r["alias"] for r in rows if r["alias"] != r["alias"].strip().upper()] == []
    assert {r["country_iso"] for r in rows} == {"US", "CA"}


# --- the files through the real transforms ----------------------------------------------------------------


@pytest.mark.spark
def test_shipped_country_and_state_files_wash_typical_values(spark) -> None:
    countries = spark.createDataFrame(read_country_aliases(REFERENCE), COUNTRIES_REFERENCE)
    states = spark.createDataFrame(read_state_aliases(REFERENCE), STATES_REFERENCE)
    cases = [
        ("  united states of america ", "Calif.", "US", "CA"),
        ("U.S.", "new york", "US", "NY"),
        ("Canada", "Québec", "CA", "QC"),
        ("CAN", " BC ", "CA", "BC"),
        ("Deutschland", " Bayern ", "DE", "Bayern"),
        ("Great  Britain", None, "GB", None),
        ("Atlantis", "Nowhere", None, "Nowhere"),
    ]
    df = spark.createDataFrame([c[:2] for c in cases], "Country string, StateProv string")
    expected = spark.createDataFrame(
        cases, "Country string, StateProv string, country_iso string, state_code string"
    )
    actual = df.transform(with_country_iso(countries)).transform(with_state_code(states))
    assert_df_equality(actual, expected, ignore_row_order=True, ignore_nullable=True)


TITLE_CASES = [
    ("CEO", "C-Level"),
    ("Founder & CEO", "C-Level"),
    ("Chief Marketing Officer", "C-Level"),
    ("CISO", "C-Level"),
    ("President", "C-Level"),
    ("Owner", "C-Level"),
    ("Chairman of the Board", "C-Level"),
    ("CEO and VP of Engineering", "C-Level"),  # the higher level wins
    ("Vice President, Sales", "VP"),
    ("Senior Vice-President", "VP"),
    ("SVP Marketing", "VP"),
    ("AVP, IT", "VP"),
    ("Assistant Vice President", "VP"),
    ("VP, Product Manager", "VP"),  # VP wins over Manager
    ("Director of IT", "Director"),
    ("Sr. Director, Demand Generation", "Director"),
    ("Head of Marketing", "Director"),
    ("Chief of Staff", "Director"),
    ("Executive Director", "Director"),
    ("IT Manager", "Manager"),
    ("Marketing Mgr", "Manager"),
    ("Team Lead", "Manager"),
    ("Supervisor, Operations", "Manager"),
    ("Software Engineer", "Individual Contributor"),
    ("Data Analyst", "Individual Contributor"),
    ("Lead Generation Specialist", "Individual Contributor"),  # "lead generation" is not a lead role
    ("Product Owner", "Individual Contributor"),  # a Scrum role, not the company's owner
    ("Assistant to the VP", "Individual Contributor"),  # assists a VP, is not one
    ("Executive Assistant to the CEO", "Individual Contributor"),
    ("Account Executive", "Individual Contributor"),
    ("Consultant", "Individual Contributor"),
    ("Astronaut", "Unknown"),
    ("", "Unknown"),
    (None, "Unknown"),
]


def _python_level(rules: list[tuple[str, str]], title: str | None) -> str:
    if title is None or not title.strip():
        return "Unknown"
    for pattern, level in rules:
        if re.search(pattern, title, re.IGNORECASE):
            return level
    return "Unknown"


def test_job_levels_csv_rules_name_known_levels_and_compile_in_python() -> None:
    rules = read_job_level_rules(REFERENCE)
    assert rules and {level for _, level in rules} <= set(JOB_LEVELS)
    for pattern, _ in rules:
        re.compile(pattern)


@pytest.mark.spark
def test_shipped_job_level_rules_classify_titles_alike_in_spark_and_python(spark) -> None:
    rules = read_job_level_rules(REFERENCE)
    assert [(t, _python_level(rules, t)) for t, _ in TITLE_CASES] == TITLE_CASES
    df = spark.createDataFrame([(t,) for t, _ in TITLE_CASES], "Title string")
    expected = spark.createDataFrame(TITLE_CASES, "Title string, job_level string")
    assert_df_equality(df.transform(with_job_level(rules)), expected, ignore_nullable=True)
