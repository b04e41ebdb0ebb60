"""Spec of the sandbox's EEL filters: grammar, typed semantics, blanks, EXISTS/STATUS and error messages."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

import pytest
from scc_sandbox.eel import (
    And,
    Compare,
    EELError,
    Exists,
    FilterSummary,
    Not,
    Or,
    Status,
    compile_filter,
    parse,
    summarize,
)

COUNTRY = "{{Contact.Field(C_Country)}}"
EMAIL = "{{Contact.Field(C_EmailAddress)}}"
SCORE = "{{Contact.Field(C_Lead_Score)}}"
UPDATED = "{{Contact.UpdatedAt}}"
SUBSCRIBED = "{{Contact.Email.IsSubscribed}}"
ACTION = "{{ActionInstance(f82d50cd86a94fcab37e4ec9a98b0339)}}"

# The field catalog a sandbox entity would expose: statement -> (row key, data type).
FIELDS: dict[str, tuple[str, str]] = {
    COUNTRY: ("country", "string"),
    EMAIL: ("email", "string"),
    SCORE: ("score", "number"),
    UPDATED: ("updated", "date"),
    SUBSCRIBED: ("subscribed", "boolean"),
}
LIST_MEMBERS = {"{{ContactList[12]}}": {1, 2}, "{{ContactSegment[7]}}": {3}}
ACTION_STATUS = {(ACTION, "pending"): {1}}
BLANK_ROW: dict[str, Any] = {
    "id": 0,
    "country": None,
    "email": None,
    "score": None,
    "updated": None,
    "subscribed": None,
}


def exists(statement: str) -> Callable[[Mapping[str, Any]], bool]:
    if statement not in LIST_MEMBERS:
        raise EELError(f"filter: unknown list {statement}")
    members = LIST_MEMBERS[statement]
    return lambda row: row["id"] in members


def status(statement: str, literal: str) -> Callable[[Mapping[str, Any]], bool]:
    ids = ACTION_STATUS.get((statement, literal), set())
    return lambda row: row["id"] in ids


def matches(text: str, **values: Any) -> bool:
    predicate = compile_filter(parse(text), FIELDS.get, exists, status)
    return predicate({**BLANK_ROW, **values})


def error_of(text: str, **kwargs: Any) -> str:
    with pytest.raises(EELError) as info:
        compile_filter(parse(text), FIELDS.get, **kwargs)
    message = str(info.value)
    assert "\n" not in message
    return message


# --- grammar


def test_parse_builds_a_comparison_with_the_statement_and_literal_as_written():
    assert parse(f"'{COUNTRY}' = 'BE'") == Compare(COUNTRY, "=", "BE")


@pytest.mark.parametrize("op", ["=", "!=", ">", ">=", "<", "<=", "~"])
def test_every_operator_parses_with_or_without_surrounding_spaces(op):
    expected = Compare(SCORE, op, "5")
    assert parse(f"'{SCORE}' {op} '5'") == expected
    assert parse(f"'{SCORE}'{op}'5'") == expected
    assert parse(f"\t'{SCORE}'\n  {op}   '5'  ") == expected


def test_not_binds_tighter_than_and_and_and_binds_tighter_than_or():
    a, b, c = (f"'{COUNTRY}' = '{x}'" for x in "ABC")
    assert parse(f"NOT {a} AND {b} OR {c}") == Or(
        (And((Not(Compare(COUNTRY, "=", "A")), Compare(COUNTRY, "=", "B"))), Compare(COUNTRY, "=", "C"))
    )


def test_parentheses_override_precedence():
    a, b, c = (f"'{COUNTRY}' = '{x}'" for x in "ABC")
    assert parse(f"NOT ({a} AND ({b} OR {c}))") == Not(
        And((Compare(COUNTRY, "=", "A"), Or((Compare(COUNTRY, "=", "B"), Compare(COUNTRY, "=", "C")))))
    )


def test_a_chain_of_and_is_one_flat_node():
    a, b, c = (f"'{COUNTRY}' = '{x}'" for x in "ABC")
    assert parse(f"{a} AND {b} AND {c}") == And(
        (Compare(COUNTRY, "=", "A"), Compare(COUNTRY, "=", "B"), Compare(COUNTRY, "=", "C"))
    )


@pytest.mark.parametrize(
    "and_, or_, not_", [("AND", "OR", "NOT"), ("and", "or", "not"), ("And", "oR", "Not")]
)
def test_keywords_are_case_insensitive(and_, or_, not_):
    text = f"{not_} '{COUNTRY}' = 'A' {and_} '{COUNTRY}' = 'B' {or_} '{COUNTRY}' = 'C'"
    assert parse(text) == parse(f"NOT '{COUNTRY}' = 'A' AND '{COUNTRY}' = 'B' OR '{COUNTRY}' = 'C'")


def test_keywords_need_no_spaces_next_to_quotes_and_parentheses():
    assert parse(f"NOT('{COUNTRY}'='A')AND'{SCORE}'>'1'") == And(
        (Not(Compare(COUNTRY, "=", "A")), Compare(SCORE, ">", "1"))
    )


def test_pyeloqua_style_padded_fragments_joined_with_bare_and_are_accepted():
    # pyeloqua builds " '{{field}}' = 'x' " fragments and joins them with " AND ".
    fragments = [
        f" '{COUNTRY}' = 'BE' ",
        f" '{UPDATED}' >= '2024-01-01 00:00:00' ",
        " EXISTS('{{ContactList[12]}}') ",
    ]
    expr = parse(" AND ".join(fragments))
    assert expr == And(
        (
            Compare(COUNTRY, "=", "BE"),
            Compare(UPDATED, ">=", "2024-01-01 00:00:00"),
            Exists("{{ContactList[12]}}"),
        )
    )


def test_spaces_inside_the_field_quotes_are_stripped_but_literals_keep_theirs():
    assert parse(f"'  {COUNTRY} ' = ' BE '") == Compare(COUNTRY, "=", " BE ")


def test_doubled_quote_inside_a_literal_is_one_quote():
    assert parse(f"'{COUNTRY}' = 'O''Brien'''") == Compare(COUNTRY, "=", "O'Brien'")
    assert matches(f"'{COUNTRY}' = 'O''Brien'", country="o'brien") is True


@pytest.mark.parametrize(
    "statement",
    ["{{ContactList[12]}}", "{{ContactSegment[7]}}", "{{ContactFilter[3]}}", "{{AccountList[99]}}"],
)
def test_exists_accepts_the_four_list_kinds(statement):
    assert parse(f"EXISTS( ' {statement}' )") == Exists(statement)


def test_status_parses_statement_and_literal():
    assert parse(f"status('{ACTION}') = 'pending'") == Status(ACTION, "pending")


def test_summary_lists_every_compared_field_in_order_with_repeats_and_the_exists_and_status_statements():
    text = (
        "EXISTS('{{ContactSegment[7]}}')"
        f" AND ('{UPDATED}' >= '2024-01-01' AND NOT '{UPDATED}' >= '2024-02-01')"
        f" AND STATUS('{ACTION}') = 'pending' OR '{COUNTRY}' ~ 'B%'"
    )
    assert summarize(parse(text)) == FilterSummary(
        fields=(UPDATED, UPDATED, COUNTRY), exists=("{{ContactSegment[7]}}",), statuses=(ACTION,)
    )


# --- typed comparisons


@pytest.mark.parametrize(
    "condition, value, expected",
    [
        ("= 'BE'", "BE", True),
        ("= 'BE'", "be", True),  # case-insensitive collation
        ("= 'BE'", "BE   ", True),  # trailing spaces are ignored
        ("= 'BE  '", "BE", True),  # ... on either side
        ("= 'BE'", " BE", False),  # leading spaces are not
        ("= 'BE'", "FR", False),
        ("!= 'BE'", "FR", True),
        ("!= 'BE'", "Be", False),
        ("> 'B'", "C", True),
        ("> 'B'", "b", False),
        (">= 'b'", "B", True),
        ("< 'B'", "a", True),
        ("< 'B'", "C", False),
        ("<= 'B'", "b ", True),
        ("> ''", "x", True),  # any non-blank text sorts after the empty string
    ],
)
def test_string_comparisons_follow_sql_server_default_collation(condition, value, expected):
    assert matches(f"'{COUNTRY}' {condition}", country=value) is expected


@pytest.mark.parametrize(
    "condition, value, expected",
    [
        ("= '10'", 10, True),
        ("= '10.0'", 10, True),
        ("= ' 10 '", 10, True),
        ("= '1e1'", 10, True),
        ("!= '10'", 11, True),
        ("!= '10'", 10, False),
        ("> '9.5'", 10, True),
        ("> '10'", 10, False),
        (">= '10'", 10, True),
        ("< '10'", 10, False),
        ("< '10'", 9.99, True),
        ("<= '10'", 10, True),
        ("> '-1'", 0, True),
        ("= '9007199254740993'", 9007199254740993, True),  # integral literals stay exact
        ("= '9007199254740993'", 9007199254740992, False),  # (as floats these two would be equal)
    ],
)
def test_number_comparisons_are_numeric_not_textual(condition, value, expected):
    assert matches(f"'{SCORE}' {condition}", score=value) is expected


@pytest.mark.parametrize(
    "condition, value, expected",
    [
        ("= '2024-01-01 10:00:00'", datetime(2024, 1, 1, 10), True),
        ("= '2024-01-01'", datetime(2024, 1, 1), True),  # a date alone is midnight
        ("= '2024-01-01'", datetime(2024, 1, 1, 0, 0, 1), False),
        ("= '2024-01-01T10:00:00'", datetime(2024, 1, 1, 10), True),
        ("= '2024-01-01T10:00:00Z'", datetime(2024, 1, 1, 10), True),
        ("= '2024-01-01T10:00:00.5Z'", datetime(2024, 1, 1, 10, 0, 0, 500000), True),
        (
            "= '2024-01-01T10:00:00.1234567Z'",
            datetime(2024, 1, 1, 10, 0, 0, 123456),
            True,
        ),  # Eloqua's 7 digits
        ("= '2024-01-01T12:00:00+02:00'", datetime(2024, 1, 1, 10), True),  # offsets convert to UTC
        ("!= '2024-01-01'", datetime(2024, 1, 2), True),
        ("> '2024-01-01'", datetime(2024, 1, 1, 0, 0, 1), True),
        ("> '2024-01-01'", datetime(2024, 1, 1), False),
        ("<= '2024-01-01'", datetime(2024, 1, 1), True),
        ("< '2024-01-01'", datetime(2023, 12, 31, 23, 59, 59, 999999), True),
        (">= '2024-01-01 00:00:00'", datetime(2023, 12, 31, 23, 59, 59, 999999), False),
    ],
)
def test_date_comparisons_are_chronological(condition, value, expected):
    assert matches(f"'{UPDATED}' {condition}", updated=value) is expected


@pytest.mark.parametrize(
    "instant",
    [
        datetime(2024, 1, 1, 23, 59, 59, 999999),
        datetime(2024, 1, 2),  # exactly on the border
        datetime(2024, 1, 2, 0, 0, 0, 1),
    ],
)
def test_adjacent_incremental_windows_take_each_instant_exactly_once(instant):
    # tap-eloqua's windows: '>= last AND < end'; the next window starts where this one ended.
    first = f"'{UPDATED}' >= '2024-01-01 00:00:00' AND '{UPDATED}' < '2024-01-02 00:00:00'"
    second = f"'{UPDATED}' >= '2024-01-02 00:00:00' AND '{UPDATED}' < '2024-01-03 00:00:00'"
    assert [matches(first, updated=instant), matches(second, updated=instant)].count(True) == 1
    assert matches(second, updated=instant) is (instant >= datetime(2024, 1, 2))


@pytest.mark.parametrize(
    "condition, value, expected",
    [
        ("= 'true'", True, True),
        ("= 'TRUE'", True, True),
        ("= '1'", True, True),
        ("= '0'", False, True),
        ("= 'false'", False, True),
        ("= 'false'", True, False),
        ("!= 'true'", False, True),
        ("!= 'true'", True, False),
    ],
)
def test_boolean_comparisons_accept_true_false_one_zero(condition, value, expected):
    assert matches(f"'{SUBSCRIBED}' {condition}", subscribed=value) is expected


# --- LIKE


def test_like_is_case_insensitive():
    assert matches(f"'{EMAIL}' ~ '%@EXAMPLE.com'", email="Ann@Example.COM") is True


@pytest.mark.parametrize(
    "pattern, value, expected",
    [
        ("%@example.com", "a@example.com", True),
        ("%@example.com", "a@example.org", False),
        ("a_c", "abc", True),  # _ is exactly one character
        ("a_c", "ac", False),
        ("a_c", "abbc", False),
        ("a%", "a", True),  # % may be empty
        ("%b%", "abc", True),
        ("abc", "abcd", False),  # no wildcard: whole-value match
        ("abc", "abc   ", True),  # trailing spaces of the value are ignored
        ("abc ", "abc", False),  # trailing spaces of the pattern are not
        ("a.c", "abc", False),  # regex characters are literal
        ("a(b)*+?", "A(B)*+?", True),
        ("[a-c]x", "bx", True),  # SQL Server character classes
        ("[a-c]x", "dx", False),
        ("[^a]x", "ax", False),
        ("[^a]x", "bx", True),
        ("a[b", "a[b", True),  # an unclosed bracket is literal
        ("line%", "line1\nline2", True),  # % crosses newlines
        ("%", "x", True),
    ],
)
def test_like_follows_sql_server_pattern_rules(pattern, value, expected):
    assert matches(f"'{EMAIL}' ~ '{pattern}'", email=value) is expected


def test_not_like_excludes_matches_and_blanks():
    assert matches(f"NOT '{EMAIL}' ~ '%@example.com'", email="a@other.com") is True
    assert matches(f"NOT '{EMAIL}' ~ '%@example.com'", email="a@example.com") is False
    assert matches(f"NOT '{EMAIL}' ~ '%@example.com'", email=None) is False


# --- blanks


@pytest.mark.parametrize("statement", [COUNTRY, SCORE, UPDATED])
@pytest.mark.parametrize("op", ["=", "!=", ">", ">=", "<", "<="])
def test_blank_value_never_satisfies_a_comparison(statement, op):
    literal = {COUNTRY: "BE", SCORE: "5", UPDATED: "2024-01-01"}[statement]
    assert matches(f"'{statement}' {op} '{literal}'") is False


@pytest.mark.parametrize("value", ["", "   "])
@pytest.mark.parametrize("condition", ["!= 'BE'", "< 'B'", "<= 'B'", "> ''", ">= ''", "~ '%'"])
def test_empty_or_space_only_text_is_blank_and_never_satisfies_a_comparison(condition, value):
    assert matches(f"'{COUNTRY}' {condition}", country=value) is False


@pytest.mark.parametrize(
    "statement, key, literal, values",
    [
        (COUNTRY, "country", "B", ["a", "B", "c"]),
        (SCORE, "score", "10", [9, 10, 11]),
        (
            UPDATED,
            "updated",
            "2024-01-01",
            [datetime(2023, 12, 31), datetime(2024, 1, 1), datetime(2024, 1, 2)],
        ),
    ],
)
@pytest.mark.parametrize("op", ["=", "!=", ">", ">=", "<", "<="])
def test_not_inverts_every_operator_on_values_below_at_and_above_the_literal(
    statement, key, literal, values, op
):
    text = f"'{statement}' {op} '{literal}'"
    assert [matches(f"NOT {text}", **{key: v}) for v in values] == [
        not matches(text, **{key: v}) for v in values
    ]


@pytest.mark.parametrize("op", ["=", "!="])
def test_blank_boolean_is_neither_true_nor_false(op):
    assert matches(f"'{SUBSCRIBED}' {op} 'true'") is False
    assert matches(f"'{SUBSCRIBED}' {op} 'false'") is False


@pytest.mark.parametrize(
    "statement, key, value, is_blank",
    [
        (COUNTRY, "country", None, True),
        (COUNTRY, "country", "", True),
        (COUNTRY, "country", "   ", True),  # only spaces is blank under the trailing-space rule
        (COUNTRY, "country", "BE", False),
        (SCORE, "score", None, True),
        (SCORE, "score", 0, False),  # zero is a value
        (UPDATED, "updated", None, True),
        (UPDATED, "updated", datetime(2024, 1, 1), False),
        (SUBSCRIBED, "subscribed", None, True),
        (SUBSCRIBED, "subscribed", False, False),  # false is a value
    ],
)
def test_equals_empty_literal_tests_for_blank_and_not_equals_for_non_blank(statement, key, value, is_blank):
    assert matches(f"'{statement}' = ''", **{key: value}) is is_blank
    assert matches(f"'{statement}' != ''", **{key: value}) is (not is_blank)
    assert matches(f"NOT '{statement}' = ''", **{key: value}) is (not is_blank)


def test_not_on_a_blank_comparison_is_still_false_as_in_sql_three_valued_logic():
    assert matches(f"NOT '{COUNTRY}' = 'BE'", country="FR") is True
    assert matches(f"NOT '{COUNTRY}' = 'BE'", country=None) is False
    # unknown OR false = unknown; NOT unknown = unknown -> not selected
    assert matches(f"NOT ('{COUNTRY}' = 'BE' OR '{SCORE}' > '10')", country=None, score=5) is False
    # unknown AND false = false; NOT false = true -> selected
    assert matches(f"NOT ('{COUNTRY}' = 'BE' AND '{SCORE}' > '10')", country=None, score=5) is True


# --- logic


@pytest.mark.parametrize(
    "text, expected",
    [
        # AND before OR: BE OR (FR AND score > 50)
        (f"'{COUNTRY}' = 'BE' OR '{COUNTRY}' = 'FR' AND '{SCORE}' > '50'", True),
        (f"('{COUNTRY}' = 'BE' OR '{COUNTRY}' = 'FR') AND '{SCORE}' > '50'", False),
        # NOT before AND: (NOT BE) AND score > 50, not NOT (BE AND score > 50)
        (f"NOT '{COUNTRY}' = 'BE' AND '{SCORE}' > '50'", False),
        (f"NOT ('{COUNTRY}' = 'BE' AND '{SCORE}' > '50')", True),
        (f"NOT NOT '{COUNTRY}' = 'BE'", True),
        (f"'{COUNTRY}' = 'FR' OR '{COUNTRY}' = 'DE' OR '{COUNTRY}' = 'NL' OR '{COUNTRY}' = 'BE'", True),
        (f"'{COUNTRY}' = 'BE' AND '{SCORE}' = '0' AND '{SCORE}' < '1' AND '{SCORE}' > '-1'", True),
        (f"'{COUNTRY}' = 'BE' AND '{SCORE}' = '0' AND '{SCORE}' < '1' AND '{SCORE}' > '0'", False),
    ],
)
def test_evaluation_respects_precedence_and_parentheses(text, expected):
    assert matches(text, country="BE", score=0) is expected


def test_exists_selects_list_members():
    text = "EXISTS('{{ContactList[12]}}')"
    assert [matches(text, id=i) for i in (1, 2, 3)] == [True, True, False]
    assert [matches(f"NOT {text}", id=i) for i in (1, 2, 3)] == [False, False, True]


def test_status_selects_records_with_that_action_status():
    text = f"STATUS('{ACTION}') = 'pending'"
    assert [matches(text, id=i) for i in (1, 2)] == [True, False]
    assert [matches(f"NOT {text}", id=i) for i in (1, 2)] == [False, True]


def test_fields_and_lists_are_resolved_at_compile_time_not_per_row():
    calls: list[str] = []

    def resolve(statement: str) -> tuple[str, str] | None:
        calls.append(statement)
        return FIELDS.get(statement)

    predicate = compile_filter(
        parse(f"'{COUNTRY}' = 'BE' AND EXISTS('{{{{ContactList[12]}}}}')"), resolve, exists, status
    )
    rows = [{**BLANK_ROW, "id": i, "country": c} for i, c in [(1, "BE"), (2, "FR"), (3, "BE")]]
    assert [predicate(r) for r in rows] == [True, False, False]
    assert calls == [COUNTRY]


# --- errors

C = f"'{COUNTRY}'"  # 30 characters


@pytest.mark.parametrize(
    "text, message",
    [
        (f"{C} = 'BE", "filter: unterminated quoted text starting at position 34: close it with '"),
        (f"{C} = 'O''Brien", "filter: unterminated quoted text starting at position 34"),
        (f"{C} = ", "filter: expected a quoted value after '=' at position 34, found end of filter"),
        (f"{C} 'BE'", "filter: expected an operator (= != > >= < <= ~) at position 32, found 'BE'"),
        (f"{C} == 'BE'", "filter: expected a quoted value after '=' at position 33, found '='"),
        (f"{C} = 'BE' AND", "filter: expected a condition ("),
        (f"{C} = 'BE' AND", "at position 42, found end of filter"),
        (f"{C} = 'BE' 'FR'", "filter: unexpected 'FR' at position 39: join conditions with AND or OR"),
        (f"{C} = 'BE')", "filter: unexpected ')' at position 38"),
        (f"({C} = 'BE'", "filter: expected ')' at position 39, found end of filter"),
        (f"{C} = BE", "filter: unexpected word 'BE' at position 34: put fields and values in single quotes"),
        (f"{C} = 5", "filter: unexpected word '5' at position 34"),
        (f"{C} XOR {C}", "filter: unexpected word 'XOR' at position 32"),
        ("\"{{Contact.Id}}\" = '1'", "filter: unexpected character '\"' at position 1: use single quotes"),
        (f"{C} ! 'BE'", "filter: unexpected character '!' at position 32"),
        ("", "filter: the filter is empty"),
        ("   ", "filter: the filter is empty"),
        (
            f"'BE' = {C}",
            "filter: expected a field statement such as '{{Contact.Field(C_Country)}}' at position 1",
        ),
        (f"{C} = 'BE' AND ()", "filter: expected a condition"),
        ("EXISTS('{{Contact.Id}}')", "filter: EXISTS at position 1 takes '{{ContactList[id]}}'"),
        ("EXISTS '{{ContactList[1]}}'", "filter: expected '(' after EXISTS at position 8"),
        ("EXISTS('{{ContactList[1]}}'", "filter: expected ')' after the EXISTS statement at position 28"),
        (f"STATUS('{ACTION}') != 'pending'", "filter: STATUS(...) supports only '='"),
        (f"STATUS('{ACTION}')", "filter: expected '=' after STATUS(...)"),
        ("STATUS('pending') = 'x'", "filter: STATUS at position 1 takes a quoted statement"),
        ("(" * 101 + f"{C} = 'BE'" + ")" * 101, "filter: nesting deeper than 100 levels at position 101"),
        ("NOT " * 101 + f"{C} = 'BE'", "filter: nesting deeper than 100 levels"),
    ],
)
def test_syntax_errors_name_the_problem_and_its_position(text, message):
    with pytest.raises(EELError) as info:
        parse(text)
    assert message in str(info.value)
    assert "\n" not in str(info.value)


def test_eel_error_is_a_value_error():
    assert issubclass(EELError, ValueError)


def test_deep_but_allowed_nesting_parses():
    assert matches("(" * 100 + f"{C} = 'BE'" + ")" * 100, country="BE") is True


@pytest.mark.parametrize(
    "text, message",
    [
        (
            "'{{Contact.Field(C_Nope)}}' = 'x'",
            "filter: unknown field '{{Contact.Field(C_Nope)}}' in filter at position 1",
        ),
        (
            f"'{UPDATED}' >= '2024-13-01'",
            "filter: '2024-13-01' is not a valid date for '{{Contact.UpdatedAt}}'",
        ),
        (f"'{UPDATED}' >= '2024-02-30'", "'2024-02-30' is not a valid date"),
        (f"'{UPDATED}' >= '2024-01-01 25:00:00'", "'2024-01-01 25:00:00' is not a valid date"),
        (f"'{UPDATED}' >= '01/02/2024'", "'01/02/2024' is not a valid date"),
        (f"'{UPDATED}' >= '2024-01-01T10:00'", "'2024-01-01T10:00' is not a valid date"),
        (f"'{UPDATED}' > ''", "'' is not a valid date"),
        (f"'{SCORE}' > 'ten'", "filter: 'ten' is not a valid number for '{{Contact.Field(C_Lead_Score)}}'"),
        (f"'{SCORE}' > '1_000'", "'1_000' is not a valid number"),
        (f"'{SCORE}' > 'nan'", "'nan' is not a valid number"),
        (f"'{SCORE}' > '1e999'", "'1e999' is not a valid number"),
        (f"'{SUBSCRIBED}' = 'yes'", "'yes' is not a valid boolean"),
        (f"'{SUBSCRIBED}' > 'true'", "filter: operator '>' cannot compare boolean field"),
        (f"'{SCORE}' ~ '1%'", "filter: operator '~' (LIKE) works only on text fields"),
        (f"'{UPDATED}' ~ '2024%'", "is a date field"),
        (f"'{EMAIL}' ~ '[z-a]'", "filter: invalid LIKE pattern '[z-a]'"),
        (f"NOT '{UPDATED}' < 'soon'", "'soon' is not a valid date"),  # literals are checked under NOT too
    ],
)
def test_compile_errors_name_the_field_or_literal(text, message):
    assert message in error_of(text, exists=exists, status=status)


def test_exists_without_an_exists_resolver_is_not_supported():
    assert "filter: EXISTS is not supported for this entity" in error_of("EXISTS('{{ContactList[12]}}')")


def test_status_without_a_status_resolver_is_not_supported():
    assert "filter: STATUS is not supported for this entity" in error_of(f"STATUS('{ACTION}') = 'pending'")


def test_an_unknown_list_is_reported_by_the_exists_resolver():
    assert "unknown list {{ContactList[99]}}" in error_of("EXISTS('{{ContactList[99]}}')", exists=exists)


def test_a_data_type_filters_cannot_compare_is_an_error():
    with pytest.raises(EELError, match="has data type 'blob'"):
        compile_filter(parse(f"'{COUNTRY}' = 'x'"), lambda s: ("country", "blob"))
