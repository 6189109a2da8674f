"""A SOQL subset: parse a query, check it against the schema, run it over an org's records.

    SELECT field[, field...] FROM Object
      [WHERE condition [AND condition]...]
      [ORDER BY field [ASC|DESC] [NULLS FIRST|LAST][, ...]]
      [LIMIT n] [OFFSET n]

A condition is `Field op literal` (op: = != <> < <= > >=), `Field [NOT] IN (literal, ...)`
or `Field LIKE 'pattern'`. Literals: 'strings' (backslash escapes), numbers, true, false,
null, dates (2026-12-02) and datetimes (2026-12-02T10:00:00Z, ±hh:mm offsets). Keywords
and names are case-insensitive; text compares case-insensitively, as in Salesforce.

Errors are Salesforce's: MALFORMED_QUERY for syntax, INVALID_TYPE for an unknown object,
INVALID_FIELD for an unknown field, INVALID_QUERY_FILTER_OPERATOR for a literal of the
wrong type; the ones tied to a place in the query point at it (`ERROR at Row:1:Column:N`).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from writeback.sandbox.salesforce import ids
from writeback.sandbox.salesforce.errors import Problem, invalid_type, no_such_column
from writeback.sandbox.salesforce.fields import NUMBER_TYPES, TEXT_TYPES, Field
from writeback.sandbox.salesforce.schema import Schema, SObject
from writeback.sandbox.salesforce.validation import parse_datetime

Record = dict[str, Any]

KEYWORDS = frozenset(
    {
        "SELECT", "FROM", "WHERE", "AND", "OR", "NOT", "IN", "LIKE", "ORDER", "BY", "ASC",
        "DESC", "NULLS", "FIRST", "LAST", "LIMIT", "OFFSET", "TRUE", "FALSE", "NULL",
    }
)  # fmt: skip
COMPARISONS = frozenset({"=", "!=", "<>", "<", "<=", ">", ">="})
ID_TYPES = frozenset({"id", "reference"})
# Salesforce's own names for the types in "must be of type X" messages.
SOQL_TYPE_NAMES = {
    "int": "integer",
    "double": "double",
    "currency": "currency",
    "percent": "percent",
    "boolean": "boolean",
    "date": "date",
    "datetime": "dateTime",
    "id": "id",
    "reference": "id",
}
LONG_TEXT = 255  # textareas longer than this can be neither filtered nor sorted

_TOKEN = re.compile(
    r"""
    (?P<space>\s+)
  | (?P<datetime>\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,9})?(?:Z|[+-]\d{2}:?\d{2}))
  | (?P<date>\d{4}-\d{2}-\d{2}(?![\w:]))
  | (?P<number>-?(?:\d+(?:\.\d*)?|\.\d+)(?![\w.]))
  | (?P<word>[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*)
  | (?P<op>!=|<>|<=|>=|=|<|>)
  | (?P<punct>[,()])
    """,
    re.VERBOSE,
)
_INTEGER = re.compile(r"-?\d+")
_ESCAPES = {
    "n": "\n", "N": "\n", "r": "\r", "R": "\r", "t": "\t", "T": "\t", "b": "\b", "B": "\b",
    "f": "\f", "F": "\f", '"': '"', "'": "'", "\\": "\\",
}  # fmt: skip


class QueryError(Exception):
    """A query Salesforce would refuse; `at` is the offset of the offending token, if any."""

    def __init__(self, code: str, message: str, at: int | None = None) -> None:
        super().__init__(message)
        self.code, self.message, self.at = code, message, at

    def problem(self, query: str) -> Problem:
        if self.at is None:
            return Problem(self.code, self.message)
        row = query.count("\n", 0, self.at) + 1
        start = query.rfind("\n", 0, self.at) + 1
        end = query.find("\n", self.at)
        line = query[start : end if end >= 0 else len(query)]
        column = self.at - start + 1
        located = f"\n{line}\n{' ' * (column - 1)}^\nERROR at Row:{row}:Column:{column}\n"
        return Problem(self.code, located + self.message)


def _malformed(message: str, at: int | None = None) -> QueryError:
    return QueryError("MALFORMED_QUERY", message, at)


# --- tokens ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Token:
    kind: str  # word, keyword, string, number, date, datetime, op, punct, eof
    text: str  # as written (a keyword upper-cased)
    at: int
    value: Any = None  # decoded literal
    like: re.Pattern[str] | None = None  # a string literal read as a LIKE pattern


def _string(query: str, start: int) -> Token:
    """The quoted literal opening at `start`, escapes decoded."""
    text: list[str] = []
    like: list[str] = []
    at = start + 1
    while at < len(query):
        char = query[at]
        if char == "'":
            pattern = re.compile("".join(like), re.IGNORECASE | re.DOTALL)
            return Token("string", query[start : at + 1], start, "".join(text), pattern)
        if char == "\\":
            following = query[at + 1 : at + 2]
            if following in ("%", "_"):  # escaped wildcards: only LIKE cares
                text.append("\\" + following)
                like.append(re.escape(following))
            elif following in _ESCAPES:
                text.append(_ESCAPES[following])
                like.append(re.escape(_ESCAPES[following]))
            else:
                literal = query[start : at + 2]
                raise _malformed(
                    f"Invalid string literal '{literal}'. Illegal character sequence"
                    f" '\\{following}' in string literal.",
                    start,
                )
            at += 2
            continue
        text.append(char)
        like.append(".*" if char == "%" else "." if char == "_" else re.escape(char))
        at += 1
    raise _malformed(f"line 1:{len(query)} mismatched character '<EOF>' expecting '''")


def tokenize(query: str) -> list[Token]:
    tokens: list[Token] = []
    at = 0
    while at < len(query):
        if query[at] == "'":
            token = _string(query, at)
            tokens.append(token)
            at += len(token.text)
            continue
        found = _TOKEN.match(query, at)
        if found is None:
            raise _malformed(f"line 1:{at} no viable alternative at character '{query[at]}'", at)
        kind, text = found.lastgroup or "", found.group()
        at = found.end()
        if kind == "space":
            continue
        start = found.start()
        if kind == "word" and text.upper() in KEYWORDS:
            tokens.append(Token("keyword", text.upper(), start))
        elif kind == "number":
            number = int(text) if _INTEGER.fullmatch(text) else float(text)
            tokens.append(Token(kind, text, start, number))
        elif kind == "date":
            try:
                day = date.fromisoformat(text).isoformat()
            except ValueError:
                raise _malformed(f"no viable alternative at '{text}'", start) from None
            tokens.append(Token(kind, text, start, day))
        elif kind == "datetime":
            moment = parse_datetime(text)
            if moment is None:
                raise _malformed(f"no viable alternative at '{text}'", start)
            tokens.append(Token(kind, text, start, moment))
        else:
            tokens.append(Token(kind, text, start))
    tokens.append(Token("eof", "<EOF>", len(query)))
    return tokens


# --- syntax --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Name:
    text: str
    at: int


@dataclass(frozen=True, slots=True)
class Condition:
    field: Name
    operator: str  # = != < <= > >= IN NOT IN LIKE
    values: tuple[Token, ...]


@dataclass(frozen=True, slots=True)
class Ordering:
    field: Name
    descending: bool
    nulls_last: bool


@dataclass(frozen=True, slots=True)
class Junction:
    """Conditions joined by one connective: SOQL never mixes AND and OR unparenthesised."""

    connective: str  # AND | OR | NOT (NOT has one part)
    parts: tuple[Where, ...]


Where = Condition | Junction


@dataclass
class Query:
    fields: list[Name]
    sobject: Name
    where: Where | None = None
    order: list[Ordering] = field(default_factory=list)
    limit: int | None = None
    offset: int | None = None


class _Parser:
    def __init__(self, tokens: list[Token]) -> None:
        self.tokens = tokens
        self.at = 0

    @property
    def current(self) -> Token:
        return self.tokens[self.at]

    def take(self) -> Token:
        token = self.tokens[self.at]
        if token.kind != "eof":
            self.at += 1
        return token

    def unexpected(self, token: Token | None = None) -> QueryError:
        token = token or self.current
        return _malformed(f"unexpected token: '{token.text}'", token.at)

    def keyword(self, *words: str) -> str | None:
        token = self.current
        if token.kind == "keyword" and token.text in words:
            self.take()
            return token.text
        return None

    def expect(self, word: str) -> None:
        if self.keyword(word) is None:
            raise self.unexpected()

    def name(self) -> Name:
        token = self.current
        if token.kind != "word":
            raise self.unexpected()
        self.take()
        return Name(token.text, token.at)

    def literal(self) -> Token:
        token = self.take()
        if token.kind in ("string", "number", "date", "datetime"):
            return token
        if token.kind == "keyword" and token.text in ("TRUE", "FALSE", "NULL"):
            value = {"TRUE": True, "FALSE": False, "NULL": None}[token.text]
            return Token("boolean" if value is not None else "null", token.text, token.at, value)
        raise self.unexpected(token)

    def integer(self) -> int:
        token = self.take()
        if token.kind != "number" or not isinstance(token.value, int) or token.value < 0:
            raise self.unexpected(token)
        return token.value

    def condition(self) -> Condition:
        subject = self.name()
        token = self.current
        if token.kind == "op":
            self.take()
            operator = "!=" if token.text == "<>" else token.text
            return Condition(subject, operator, (self.literal(),))
        if self.keyword("LIKE"):
            return Condition(subject, "LIKE", (self.literal(),))
        negated = self.keyword("NOT") is not None
        if self.keyword("IN") is None:
            raise self.unexpected()
        if self.current.text != "(":
            raise self.unexpected()
        self.take()
        values = [self.literal()]
        while self.current.text == ",":
            self.take()
            values.append(self.literal())
        if self.current.text != ")":
            raise self.unexpected()
        self.take()
        return Condition(subject, "NOT IN" if negated else "IN", tuple(values))

    def where(self) -> Where:
        """`a AND b AND (c OR d)`, `NOT a`: one connective per level, as in SOQL."""
        parts = [self.factor()]
        connective = self.keyword("AND", "OR")
        if connective is None:
            return parts[0]
        parts.append(self.factor())
        while True:
            token = self.current
            joined = self.keyword("AND", "OR")
            if joined is None:
                break
            if joined != connective:
                raise self.unexpected(token)  # mixing needs parentheses
            parts.append(self.factor())
        return Junction(connective, tuple(parts))

    def factor(self) -> Where:
        if self.keyword("NOT"):
            return Junction("NOT", (self.factor(),))
        if self.current.text == "(":
            self.take()
            inner = self.where()
            if self.current.text != ")":
                raise self.unexpected()
            self.take()
            return inner
        return self.condition()

    def ordering(self) -> Ordering:
        subject = self.name()
        descending = self.keyword("ASC", "DESC") == "DESC"
        nulls_last = descending
        if self.keyword("NULLS"):
            where = self.keyword("FIRST", "LAST")
            if where is None:
                raise self.unexpected()
            nulls_last = where == "LAST"
        return Ordering(subject, descending, nulls_last)

    def query(self) -> Query:
        self.expect("SELECT")
        fields = [self.name()]
        while self.current.text == ",":
            self.take()
            fields.append(self.name())
        self.expect("FROM")
        parsed = Query(fields, self.name())
        if self.keyword("WHERE"):
            parsed.where = self.where()
        if self.keyword("ORDER"):
            self.expect("BY")
            parsed.order.append(self.ordering())
            while self.current.text == ",":
                self.take()
                parsed.order.append(self.ordering())
        if self.keyword("LIMIT"):
            parsed.limit = self.integer()
        if self.keyword("OFFSET"):
            parsed.offset = self.integer()
        if self.current.kind != "eof":
            raise self.unexpected()
        return parsed


def parse(query: str) -> Query:
    if not query.strip():
        raise _malformed("SOQL statements cannot be empty or null")
    return _Parser(tokenize(query)).query()


# --- meaning -------------------------------------------------------------------------

Test = Callable[[Record], bool]


def _resolve(sobject: SObject, name: Name) -> Field:
    text = name.text
    head, dot, rest = text.partition(".")
    if dot and head.lower() == sobject.name.lower():
        text = rest  # Contact.Email in a query on Contact is just Email
    elif dot:
        raise QueryError(
            "INVALID_FIELD",
            f"Didn't understand relationship '{head}' in field path. If you are attempting to"
            " use a custom relationship, be sure to append the '__r' after the custom"
            " relationship name. Please reference your WSDL or the describe call for the"
            " appropriate names.",
            name.at,
        )
    found = sobject.field(text) if "." not in text else None
    if found is None:
        raise QueryError("INVALID_FIELD", no_such_column(text, sobject.name).message, name.at)
    return found


def _unusable(found: Field) -> bool:
    return found.type == "address" or (found.type == "textarea" and found.length > LONG_TEXT)


def _wrong_type(found: Field, token: Token) -> QueryError:
    if found.type in TEXT_TYPES:
        message = (
            f"value of filter criterion for field '{found.name}' must be of type string and"
            " should be enclosed in quotes"
        )
    else:
        kind = SOQL_TYPE_NAMES.get(found.type, found.type)
        quoted = "should be enclosed" if found.type in ID_TYPES else "should not be enclosed"
        message = (
            f"value of filter criterion for field '{found.name}' must be of type {kind} and"
            f" {quoted} in quotes"
        )
    return QueryError("INVALID_QUERY_FILTER_OPERATOR", message, token.at)


def _operand(found: Field, token: Token) -> Any:
    """The literal as a value comparable with the field's stored (normalized) values."""
    if token.kind == "null":
        return None
    kind = found.type
    if kind in TEXT_TYPES:
        if token.kind != "string":
            raise _wrong_type(found, token)
        return str(token.value).replace("\\%", "%").replace("\\_", "_").casefold()
    if kind in ID_TYPES:
        if token.kind != "string":
            raise _wrong_type(found, token)
        canonical = ids.normalize(str(token.value))
        if canonical is None:
            raise QueryError(
                "INVALID_QUERY_FILTER_OPERATOR", f"invalid ID field: {token.value}", token.at
            )
        return canonical
    if kind == "boolean" and token.kind == "boolean":
        return token.value
    if kind in NUMBER_TYPES and token.kind == "number":
        return token.value
    if kind == "date" and token.kind == "date":
        return token.value
    if kind == "datetime" and token.kind == "datetime":
        return token.value
    raise _wrong_type(found, token)


def _stored(found: Field) -> Callable[[Record], Any]:
    """How to read a record's value of the field, normalized like `_operand`."""
    name = found.name
    if found.type in TEXT_TYPES:

        def text(record: Record) -> Any:
            value = record.get(name)
            return value.casefold() if isinstance(value, str) else value

        return text
    if found.type == "datetime":

        def moment(record: Record) -> Any:
            value = record.get(name)
            return parse_datetime(value) if isinstance(value, str) else value

        return moment
    return lambda record: record.get(name)


def _ordered(left: Any, operator: str, right: Any) -> bool:
    if left is None or right is None:
        return False
    try:
        if operator == "<":
            return bool(left < right)
        if operator == "<=":
            return bool(left <= right)
        if operator == ">":
            return bool(left > right)
        return bool(left >= right)
    except TypeError:
        return False


def _test(sobject: SObject, condition: Condition) -> Test:
    found = _resolve(sobject, condition.field)
    if _unusable(found):
        raise QueryError(
            "INVALID_FIELD",
            f"field '{found.name}' can not be filtered in a query call",
            condition.field.at,
        )
    read = _stored(found)
    operator = condition.operator
    if operator == "LIKE":
        token = condition.values[0]
        if found.type not in TEXT_TYPES and found.type not in ID_TYPES:
            raise QueryError(
                "INVALID_QUERY_FILTER_OPERATOR",
                f"invalid operator on {SOQL_TYPE_NAMES.get(found.type, found.type)} field:"
                f" {found.name}",
                token.at,
            )
        if token.kind != "string" or token.like is None:
            raise _wrong_type(found, token)
        pattern = token.like
        return lambda record: (
            isinstance(value := record.get(found.name), str)
            and pattern.fullmatch(value) is not None
        )
    operands = [_operand(found, token) for token in condition.values]
    if found.type == "boolean" and operator not in ("=", "!=", "IN", "NOT IN"):
        raise QueryError(
            "INVALID_QUERY_FILTER_OPERATOR",
            f"invalid operator on boolean field: {found.name}",
            condition.field.at,
        )
    if operator == "=":
        wanted = operands[0]
        return lambda record: read(record) == wanted
    if operator == "!=":
        unwanted = operands[0]
        return lambda record: read(record) != unwanted
    if operator in ("IN", "NOT IN"):
        members = operands
        inside = operator == "IN"
        return lambda record: (read(record) in members) == inside
    bound = operands[0]
    return lambda record: _ordered(read(record), operator, bound)


def _compile(sobject: SObject, where: Where) -> Test:
    if isinstance(where, Condition):
        return _test(sobject, where)
    parts = [_compile(sobject, part) for part in where.parts]
    if where.connective == "NOT":
        return lambda record: not parts[0](record)
    if where.connective == "AND":
        return lambda record: all(test(record) for test in parts)
    return lambda record: any(test(record) for test in parts)


@dataclass
class Plan:
    """A checked query, ready to run over an object's live records."""

    sobject: SObject
    fields: list[str]  # canonical names, in SELECT order
    tests: list[Test]
    order: list[tuple[Callable[[Record], Any], bool, bool]]  # (key, descending, nulls last)
    limit: int | None
    offset: int | None

    def run(self, records: Iterable[Record]) -> list[Record]:
        rows = [r for r in records if all(test(r) for test in self.tests)]
        for key, descending, nulls_last in reversed(self.order):
            nulls = [r for r in rows if key(r) is None]
            values = sorted((r for r in rows if key(r) is not None), key=key, reverse=descending)
            rows = values + nulls if nulls_last else nulls + values
        if self.offset:
            rows = rows[self.offset :]
        if self.limit is not None:
            rows = rows[: self.limit]
        return rows


def plan(query: str, schema: Schema) -> Plan:
    """Parse and check `query`; QueryError says what Salesforce would answer instead."""
    parsed = parse(query)
    sobject = schema.get(parsed.sobject.text)
    if sobject is None:
        message = invalid_type(parsed.sobject.text).message
        raise QueryError("INVALID_TYPE", message, parsed.sobject.at)
    selected: list[str] = []
    for name in parsed.fields:
        found = _resolve(sobject, name)
        if found.name in selected:
            raise _malformed(f"duplicate field selected: {found.name}")
        selected.append(found.name)
    tests = [_compile(sobject, parsed.where)] if parsed.where is not None else []
    order = []
    for ordering in parsed.order:
        found = _resolve(sobject, ordering.field)
        if _unusable(found):
            raise QueryError(
                "INVALID_FIELD",
                f"field '{found.name}' can not be sorted in a query call",
                ordering.field.at,
            )
        order.append((_stored(found), ordering.descending, ordering.nulls_last))
    return Plan(sobject, selected, tests, order, parsed.limit, parsed.offset)
