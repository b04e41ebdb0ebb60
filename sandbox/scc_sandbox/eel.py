"""Eloqua Expression Language (EEL) filters for the Bulk API sandbox: parse once, compile to a predicate.

Input: the ``filter`` text of an export definition (Oracle's "Eloqua expression language" page). Output: an AST
(``parse``), the statements it mentions (``summarize``, for definition-time checks) and a ``row -> bool``
predicate (``compile_filter``) made of nested closures, so no tree is walked per row.

Grammar (keywords ``AND OR NOT EXISTS STATUS`` are case-insensitive; whitespace is optional between tokens)::

    filter     := or_expr EOF
    or_expr    := and_expr ('OR' and_expr)*
    and_expr   := not_expr ('AND' not_expr)*
    not_expr   := 'NOT' not_expr | primary
    primary    := '(' or_expr ')'
                | 'EXISTS' '(' '{{ContactList|ContactSegment|ContactFilter|AccountList[id]}}' ')'
                | 'STATUS' '(' '{{...}}' ')' '=' 'literal'
                | '{{field}}' op 'literal'
    op         := '=' | '!=' | '>' | '>=' | '<' | '<=' | '~'

Quoted text is single-quoted and ``''`` inside it is one quote. Statements are stripped of surrounding spaces
(clients such as pyeloqua pad fragments); literals are kept as written. Error positions are 1-based character
offsets. The 1000-character limit and "one EXISTS and one STATUS per filter" are left to the server, which
checks them on the text and on ``summarize``.

Semantics, chosen per field from the ``data_type`` that ``resolve`` returns (row values are typed Python
values, ``None`` meaning blank):

* ``string``: case-insensitive (``str.casefold``) and ignoring trailing spaces, like SQL Server's default
  collation; ``> <`` order the folded text by code point. Empty or only-spaces text is blank.
  ``~`` is SQL Server ``LIKE``: ``%`` any run, ``_`` one character, ``[abc]``/``[a-c]``/``[^a]`` classes
  (an unclosed ``[`` is literal), case-insensitive, trailing spaces of the value ignored; text fields only.
* ``number``: literals are read as int when integral (exact for large ids), else float; non-finite is refused.
* ``date``: row values are naive UTC ``datetime``; literals are ``YYYY-MM-DD``, ``YYYY-MM-DD HH:MM:SS`` or
  ``YYYY-MM-DDTHH:MM:SS[.f{1,7}][Z|+HH:MM]``. Offsets are converted to UTC, a literal without one is taken as
  UTC, a date alone is midnight, a 7th fraction digit is dropped.
* ``boolean``: literals ``true false 1 0`` (any case); only ``=`` and ``!=``.
* Blanks: a blank value never satisfies a comparison, except ``= ''`` (true for blank) and ``!= ''`` (true
  for non-blank), for every type. ``NOT`` follows SQL three-valued logic: a comparison on a blank is
  *unknown* and ``NOT unknown`` is still false, so ``NOT '{{f}}' = 'x'`` excludes blanks just as
  ``'{{f}}' != 'x'`` does. ``NOT`` is pushed down to the leaves at compile time (De Morgan), free per row.
* Bad literals (date, number, boolean) and ``~`` on a non-text field raise ``EELError`` at compile time.
"""

from __future__ import annotations

import dataclasses
import math
import operator
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any

__all__ = [
    "And",
    "Compare",
    "EELError",
    "Exists",
    "Expr",
    "FilterSummary",
    "Not",
    "Or",
    "Status",
    "compile_filter",
    "parse",
    "summarize",
]

Row = Mapping[str, Any]
Predicate = Callable[[Row], bool]

MAX_NESTING = 100  # keeps recursion far below Python's limit for any filter text


class EELError(ValueError):
    """A filter that cannot be parsed or compiled; one-line message naming the position or the literal."""


# --- AST
# Positions are excluded from equality so that ASTs can be compared structurally.


@dataclass(frozen=True)
class Compare:
    """``'{{field}}' op 'literal'``; ``field`` is stripped, ``literal`` is exactly as quoted (unescaped)."""

    field: str
    op: str
    literal: str
    position: int = dataclasses.field(default=0, compare=False)


@dataclass(frozen=True)
class Exists:
    """``EXISTS('{{ContactList[12]}}')``."""

    statement: str
    position: int = dataclasses.field(default=0, compare=False)


@dataclass(frozen=True)
class Status:
    """``STATUS('{{ActionInstance(guid)}}') = 'literal'``."""

    statement: str
    literal: str
    position: int = dataclasses.field(default=0, compare=False)


@dataclass(frozen=True)
class Not:
    operand: Expr


@dataclass(frozen=True)
class And:
    operands: tuple[Expr, ...]


@dataclass(frozen=True)
class Or:
    operands: tuple[Expr, ...]


Expr = Compare | Exists | Status | Not | And | Or


@dataclass(frozen=True)
class FilterSummary:
    """What a filter mentions, in order of appearance; repeats kept (two criteria on a field count twice)."""

    fields: tuple[str, ...]
    exists: tuple[str, ...]
    statuses: tuple[str, ...]


# --- tokenizer

_STRING, _LPAREN, _RPAREN, _OP, _KEYWORD, _EOF = "string", "(", ")", "op", "keyword", "end"
_KEYWORDS = frozenset({"AND", "OR", "NOT", "EXISTS", "STATUS"})
_OPERATORS = ("!=", ">=", "<=", "=", ">", "<", "~")  # two-character operators first
_WORD = re.compile(r"[A-Za-z0-9_.]+")


@dataclass(frozen=True)
class _Token:
    kind: str
    value: str
    position: int  # 1-based

    def describe(self) -> str:
        if self.kind == _EOF:
            return "end of filter"
        if self.kind == _STRING:
            shown = self.value if len(self.value) <= 40 else self.value[:37] + "..."
            return "'" + shown.replace("'", "''") + "'"
        return repr(self.value) if self.kind != _KEYWORD else self.value


def _tokenize(text: str) -> list[_Token]:
    tokens: list[_Token] = []
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch.isspace():
            i += 1
        elif ch == "'":
            start, i, parts = i, i + 1, []
            while True:
                end = text.find("'", i)
                if end < 0:
                    raise EELError(
                        f"filter: unterminated quoted text starting at position {start + 1}: close it with '"
                    )
                parts.append(text[i:end])
                if end + 1 < n and text[end + 1] == "'":  # '' is an escaped quote
                    parts.append("'")
                    i = end + 2
                else:
                    i = end + 1
                    break
            tokens.append(_Token(_STRING, "".join(parts), start + 1))
        elif ch == "(":
            tokens.append(_Token(_LPAREN, ch, i + 1))
            i += 1
        elif ch == ")":
            tokens.append(_Token(_RPAREN, ch, i + 1))
            i += 1
        elif (op := next((o for o in _OPERATORS if text.startswith(o, i)), None)) is not None:
            tokens.append(_Token(_OP, op, i + 1))
            i += len(op)
        elif m := _WORD.match(text, i):
            word = m.group()
            if word.upper() not in _KEYWORDS:
                raise EELError(
                    f"filter: unexpected word {word!r} at position {i + 1}: put fields and values in single "
                    "quotes; keywords are AND, OR, NOT, EXISTS, STATUS"
                )
            tokens.append(_Token(_KEYWORD, word.upper(), i + 1))
            i = m.end()
        else:
            hint = "use single quotes" if ch == '"' else "see the EEL grammar"
            raise EELError(f"filter: unexpected character {ch!r} at position {i + 1}: {hint}")
    tokens.append(_Token(_EOF, "", n + 1))
    return tokens


# --- parser

_EXISTS_STATEMENT = re.compile(r"\{\{(?:ContactList|ContactSegment|ContactFilter|AccountList)\[\d+\]\}\}")


def _is_statement(text: str) -> bool:
    return text.startswith("{{") and text.endswith("}}") and len(text) > 4


class _Parser:
    def __init__(self, text: str) -> None:
        self.tokens = _tokenize(text)
        self.index = 0
        self.depth = 0

    def peek(self) -> _Token:
        return self.tokens[self.index]

    def take(self) -> _Token:
        token = self.tokens[self.index]
        if token.kind != _EOF:
            self.index += 1
        return token

    def is_keyword(self, word: str) -> bool:
        token = self.peek()
        return token.kind == _KEYWORD and token.value == word

    def expect(self, kind: str, what: str) -> _Token:
        token = self.peek()
        if token.kind != kind:
            raise EELError(f"filter: expected {what} at position {token.position}, found {token.describe()}")
        return self.take()

    def parse(self) -> Expr:
        if self.peek().kind == _EOF:
            raise EELError("filter: the filter is empty: omit it to export every record")
        expr = self.or_expr()
        token = self.peek()
        if token.kind != _EOF:
            raise EELError(
                f"filter: unexpected {token.describe()} at position {token.position}: "
                "join conditions with AND or OR"
            )
        return expr

    def or_expr(self) -> Expr:
        operands = [self.and_expr()]
        while self.is_keyword("OR"):
            self.take()
            operands.append(self.and_expr())
        return operands[0] if len(operands) == 1 else Or(tuple(operands))

    def and_expr(self) -> Expr:
        operands = [self.not_expr()]
        while self.is_keyword("AND"):
            self.take()
            operands.append(self.not_expr())
        return operands[0] if len(operands) == 1 else And(tuple(operands))

    def not_expr(self) -> Expr:
        if self.is_keyword("NOT"):
            token = self.take()
            self.enter(token)
            operand = self.not_expr()
            self.depth -= 1
            return Not(operand)
        return self.primary()

    def enter(self, token: _Token) -> None:
        self.depth += 1
        if self.depth > MAX_NESTING:
            raise EELError(
                f"filter: nesting deeper than {MAX_NESTING} levels at position {token.position}: simplify it"
            )

    def primary(self) -> Expr:
        token = self.peek()
        if token.kind == _LPAREN:
            self.take()
            self.enter(token)
            expr = self.or_expr()
            self.expect(_RPAREN, "')'")
            self.depth -= 1
            return expr
        if self.is_keyword("EXISTS"):
            self.take()
            self.expect(_LPAREN, "'(' after EXISTS")
            arg = self.expect(_STRING, "a quoted list statement such as '{{ContactList[12]}}'")
            statement = arg.value.strip()
            if not _EXISTS_STATEMENT.fullmatch(statement):
                raise EELError(
                    f"filter: EXISTS at position {token.position} takes '{{{{ContactList[id]}}}}', "
                    "'{{ContactSegment[id]}}', '{{ContactFilter[id]}}' or '{{AccountList[id]}}', "
                    f"not {arg.describe()}"
                )
            self.expect(_RPAREN, "')' after the EXISTS statement")
            return Exists(statement, token.position)
        if self.is_keyword("STATUS"):
            self.take()
            self.expect(_LPAREN, "'(' after STATUS")
            arg = self.expect(_STRING, "a quoted statement such as '{{ActionInstance(guid)}}'")
            statement = arg.value.strip()
            if not _is_statement(statement):
                raise EELError(
                    f"filter: STATUS at position {token.position} takes a quoted statement such as "
                    f"'{{{{ActionInstance(guid)}}}}', not {arg.describe()}"
                )
            self.expect(_RPAREN, "')' after the STATUS statement")
            op = self.expect(_OP, "'=' after STATUS(...)")
            if op.value != "=":
                raise EELError(
                    f"filter: STATUS(...) supports only '=', found {op.value!r} at position {op.position}"
                )
            literal = self.expect(_STRING, "a quoted status such as 'pending' after '='")
            return Status(statement, literal.value, token.position)
        if token.kind == _STRING:
            self.take()
            statement = token.value.strip()
            if not _is_statement(statement):
                raise EELError(
                    "filter: expected a field statement such as '{{Contact.Field(C_Country)}}' at position "
                    f"{token.position}, found {token.describe()}: the field goes on the left of the operator"
                )
            op = self.expect(_OP, "an operator (= != > >= < <= ~)")
            literal = self.expect(_STRING, f"a quoted value after {op.value!r}")
            return Compare(statement, op.value, literal.value, token.position)
        raise EELError(
            "filter: expected a condition ('{{field}}' op 'value', EXISTS, STATUS, NOT or '(') at position "
            f"{token.position}, found {token.describe()}"
        )


def parse(text: str) -> Expr:
    """Parse an EEL filter into an AST; raise ``EELError`` (with a 1-based position) on any syntax error."""
    return _Parser(text).parse()


def summarize(expr: Expr) -> FilterSummary:
    """List the field statements compared, the EXISTS statements and the STATUS statements, in order."""
    fields: list[str] = []
    exists: list[str] = []
    statuses: list[str] = []

    def walk(node: Expr) -> None:
        if isinstance(node, Compare):
            fields.append(node.field)
        elif isinstance(node, Exists):
            exists.append(node.statement)
        elif isinstance(node, Status):
            statuses.append(node.statement)
        elif isinstance(node, Not):
            walk(node.operand)
        else:
            for operand in node.operands:
                walk(operand)

    walk(expr)
    return FilterSummary(tuple(fields), tuple(exists), tuple(statuses))


# --- compiler

_NEGATED_OP = {"=": "!=", "!=": "=", ">": "<=", ">=": "<", "<": ">=", "<=": ">"}
_OP_FUNC = {
    "=": operator.eq,
    "!=": operator.ne,
    ">": operator.gt,
    ">=": operator.ge,
    "<": operator.lt,
    "<=": operator.le,
}
_DATE_LITERAL = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})"
    r"(?:[ T](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,7}))?(Z|[+-]\d{2}:\d{2})?)?"
)
_NUMBER_LITERAL = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")
_INT_LITERAL = re.compile(r"[+-]?\d+")
_BOOLEAN_LITERALS = {"true": True, "1": True, "false": False, "0": False}


Resolved = tuple[str, str] | tuple[str, str, tzinfo | None]


def _fold(value: Any) -> str:
    """Collation key: case-insensitive, trailing spaces ignored ('' means blank)."""
    return (value if isinstance(value, str) else str(value)).rstrip(" ").casefold()


def _parse_date(literal: str, clock: tzinfo | None = None) -> datetime | None:
    """A date literal as a naive datetime in the field's clock: literals without an offset are read in that
    clock; ``Z`` / ``+hh:mm`` literals are converted to it (``clock`` None: the field's clock is UTC)."""
    m = _DATE_LITERAL.fullmatch(literal.strip())
    if m is None:
        return None
    year, month, day, hour, minute, second, fraction, zone = m.groups()
    try:
        value = datetime(
            int(year),
            int(month),
            int(day),
            int(hour or 0),
            int(minute or 0),
            int(second or 0),
            int((fraction or "0")[:6].ljust(6, "0")),
        )
    except ValueError:
        return None
    if zone and zone != "Z":
        sign = 1 if zone[0] == "+" else -1
        hours, minutes = int(zone[1:3]), int(zone[4:6])
        if hours > 23 or minutes > 59:
            return None
        value -= sign * timedelta(hours=hours, minutes=minutes)
    if zone and clock is not None:
        value = value.replace(tzinfo=UTC).astimezone(clock).replace(tzinfo=None)
    return value


def _like_regex(pattern: str) -> re.Pattern[str]:
    """SQL Server LIKE -> anchored regex; trailing spaces of the value are ignored, as in SQL Server."""
    out: list[str] = []
    i, n = 0, len(pattern)
    while i < n:
        ch = pattern[i]
        if ch == "%":
            out.append(".*")
        elif ch == "_":
            out.append(".")
        elif ch == "[" and (close := pattern.find("]", i + 2)) > 0:
            body = pattern[i + 1 : close]
            negate = body.startswith("^") and len(body) > 1
            if negate:
                body = body[1:]
            parts = []
            j = 0
            while j < len(body):
                if j + 2 < len(body) and body[j + 1] == "-":
                    parts.append(f"{re.escape(body[j])}-{re.escape(body[j + 2])}")
                    j += 3
                else:
                    parts.append(re.escape(body[j]))
                    j += 1
            out.append("[" + ("^" if negate else "") + "".join(parts) + "]")
            i = close
        else:
            out.append(re.escape(ch))
        i += 1
    out.append(" *")
    try:
        return re.compile("".join(out), re.IGNORECASE | re.DOTALL)
    except re.error as exc:  # e.g. a reversed range such as [z-a]
        raise EELError(f"filter: invalid LIKE pattern {pattern!r}: {exc}") from None


def _literal_error(node: Compare, data_type: str, expected: str) -> EELError:
    return EELError(
        f"filter: {node.literal!r} is not a valid {data_type} for {node.field!r} "
        f"(condition at position {node.position}): use {expected}"
    )


def _compile_compare(
    node: Compare, negated: bool, resolve: Callable[[str], Resolved | None]
) -> Predicate:
    resolved = resolve(node.field)
    if resolved is None:
        raise EELError(
            f"filter: unknown field '{node.field}' in filter at position {node.position}: "
            "use a statement listed by the entity's /fields endpoint"
        )
    key, data_type = resolved[0], resolved[1]
    clock = resolved[2] if len(resolved) > 2 else None
    op = node.op

    if op in ("=", "!=") and node.literal.strip(" ") == "":
        want_blank = (op == "=") != negated
        if data_type == "string":
            if want_blank:
                return lambda row: (v := row[key]) is None or _fold(v) == ""
            return lambda row: (v := row[key]) is not None and _fold(v) != ""
        if want_blank:
            return lambda row: row[key] is None
        return lambda row: row[key] is not None

    if op == "~":
        if data_type != "string":
            raise EELError(
                f"filter: operator '~' (LIKE) works only on text fields, but {node.field!r} at position "
                f"{node.position} is a {data_type} field"
            )
        match = _like_regex(node.literal).fullmatch
        if negated:
            return lambda row: (v := row[key]) is not None and _fold(v) != "" and match(v) is None
        if match("") is None:  # the pattern needs at least one character, so blanks cannot match
            return lambda row: (v := row[key]) is not None and match(v) is not None
        return lambda row: (v := row[key]) is not None and match(v) is not None and _fold(v) != ""

    if negated:
        op = _NEGATED_OP[op]
    cmp = _OP_FUNC[op]

    if data_type == "string":
        lit = _fold(node.literal)

        def string_predicate(row: Row) -> bool:
            v = row[key]
            if v is None:
                return False
            try:
                v = v.rstrip(" ").casefold()
            except AttributeError:
                v = _fold(v)
            return v != "" and cmp(v, lit)

        return string_predicate

    literal_value: Any
    if data_type == "number":
        text = node.literal.strip()
        if _INT_LITERAL.fullmatch(text):
            literal_value = int(text)
        elif _NUMBER_LITERAL.fullmatch(text) and math.isfinite(float(text)):
            literal_value = float(text)
        else:
            raise _literal_error(node, "number", "digits such as '42' or '3.5'")
    elif data_type == "date":
        literal_value = _parse_date(node.literal, clock)
        if literal_value is None:
            raise _literal_error(
                node, "date", "'YYYY-MM-DD HH:MM:SS', 'YYYY-MM-DD' or 'YYYY-MM-DDTHH:MM:SSZ'"
            )
    elif data_type == "boolean":
        if op not in ("=", "!="):
            raise EELError(
                f"filter: operator {node.op!r} cannot compare boolean field {node.field!r} at position "
                f"{node.position}: use = or !="
            )
        literal_value = _BOOLEAN_LITERALS.get(node.literal.strip().lower())
        if literal_value is None:
            raise _literal_error(node, "boolean", "'true', 'false', '1' or '0'")
    else:
        raise EELError(
            f"filter: field {node.field!r} has data type {data_type!r}, which filters cannot compare "
            "(expected string, number, date or boolean)"
        )

    return lambda row: (v := row[key]) is not None and cmp(v, literal_value)


def _all(predicates: list[Predicate]) -> Predicate:
    # Unrolled for the common short chains: one closure call per operand, no loop or generator per row.
    if len(predicates) == 1:
        return predicates[0]
    if len(predicates) == 2:
        a, b = predicates
        return lambda row: a(row) and b(row)
    if len(predicates) == 3:
        a, b, c = predicates
        return lambda row: a(row) and b(row) and c(row)
    head, rest = predicates[0], _all(predicates[1:])
    return lambda row: head(row) and rest(row)


def _any(predicates: list[Predicate]) -> Predicate:
    if len(predicates) == 1:
        return predicates[0]
    if len(predicates) == 2:
        a, b = predicates
        return lambda row: a(row) or b(row)
    if len(predicates) == 3:
        a, b, c = predicates
        return lambda row: a(row) or b(row) or c(row)
    head, rest = predicates[0], _any(predicates[1:])
    return lambda row: head(row) or rest(row)


def _flatten(node: And | Or) -> list[Expr]:
    out: list[Expr] = []
    for operand in node.operands:
        if type(operand) is type(node):
            out.extend(_flatten(operand))
        else:
            out.append(operand)
    return out


def compile_filter(
    expr: Expr,
    resolve: Callable[[str], Resolved | None],
    exists: Callable[[str], Callable[[Mapping[str, Any]], bool]] | None = None,
    status: Callable[[str, str], Callable[[Mapping[str, Any]], bool]] | None = None,
) -> Callable[[Mapping[str, Any]], bool]:
    """Compile ``expr`` into ``row -> bool``, resolving fields and EXISTS/STATUS once, here.

    ``resolve(statement)`` gives ``(row_key, data_type)`` or ``(row_key, data_type, clock)`` (a date field read
    in the time zone ``clock``: rows carry naive local values, and offset literals are converted to it) or None
    (unknown field -> ``EELError``); the
    predicate reads ``row[row_key]``, so rows must carry every resolved key. ``exists``/``status`` build the
    predicates for ``EXISTS``/``STATUS``; when None, a filter using them raises ``EELError``. Bad literals
    raise here, never per row. The predicate returns a bool.
    """

    def build(node: Expr, negated: bool) -> Predicate:
        if isinstance(node, Compare):
            return _compile_compare(node, negated, resolve)
        if isinstance(node, Not):
            return build(node.operand, not negated)
        if isinstance(node, And | Or):
            operands = [build(operand, negated) for operand in _flatten(node)]
            # De Morgan (NOT (a AND b) == NOT a OR NOT b) keeps "blank is unknown" semantics at the leaves.
            return _all(operands) if isinstance(node, And) != negated else _any(operands)
        if isinstance(node, Exists):
            if exists is None:
                raise EELError(f"filter: EXISTS is not supported for this entity (position {node.position})")
            predicate = exists(node.statement)
        else:
            if status is None:
                raise EELError(f"filter: STATUS is not supported for this entity (position {node.position})")
            predicate = status(node.statement, node.literal)
        if negated:
            return lambda row: not predicate(row)
        return predicate

    return build(expr, False)
