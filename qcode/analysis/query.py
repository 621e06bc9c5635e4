"""Queries on codings: which excerpts lie where codes meet, exclude each other, or come
within a few sentences of each other.

``--query "trust AND NOT distrust"`` is a boolean expression over code names, with AND,
OR, NOT (any case) and parentheses; a name that has spaces or parentheses, or is itself
AND, OR or NOT, is quoted ("..." or '...'). A code stands for itself and its sub-codes.
The expression is evaluated on each unit (a sentence by default, or a turn, or the whole
document): a unit satisfies ``trust`` when a coding of trust (or a sub-code) overlaps it.
The excerpts a query selects are the codings that make it true: codings of the codes it
names outside a NOT that overlap a unit satisfying the query (of any code when every name
is under a NOT).

``--near "trust,state:2"`` selects the codings of either code that lie within 2
sentences of a coding of the other, in the same document (0: in the same sentence).

Parsing and evaluation are pure (no database): :func:`parse_query`, :func:`parse_near`
and :func:`select` take plain values; :func:`matching_codings` reads them from a project.
"""

from __future__ import annotations

import re
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from qcode.errors import InputError

KEYWORDS = ("AND", "OR", "NOT")
UNITS = ("sentence", "turn", "document")


class QueryError(InputError):
    """A query that cannot be read; says what was expected and at which position."""

    code = "Q131"

    def __init__(self, option: str, message: str, position: int | None = None):
        self.position = position  # 1-based character position in the query, if known
        super().__init__(option, message)


# -- the expression --------------------------------------------------------------------


@dataclass(frozen=True)
class Code:
    name: str
    position: int  # 1-based, where the name starts in the query


@dataclass(frozen=True)
class Not:
    operand: Node


@dataclass(frozen=True)
class And:
    left: Node
    right: Node


@dataclass(frozen=True)
class Or:
    left: Node
    right: Node


Node = Code | Not | And | Or


@dataclass(frozen=True)
class Token:
    kind: str  # "(", ")", "AND", "OR", "NOT", "NAME", "END"
    text: str
    position: int  # 1-based


def tokenize(text: str, option: str = "--query") -> list[Token]:
    tokens, i = [], 0
    while i < len(text):
        ch = text[i]
        if ch.isspace():
            i += 1
        elif ch in "()":
            tokens.append(Token(ch, ch, i + 1))
            i += 1
        elif ch in "\"'":
            close = text.find(ch, i + 1)
            if close < 0:
                raise QueryError(option, f"the quote {ch} opened at position {i + 1} is not "
                                 f"closed", i + 1)
            name = text[i + 1:close].strip()
            if not name:
                raise QueryError(option, f"empty code name at position {i + 1}", i + 1)
            tokens.append(Token("NAME", name, i + 1))
            i = close + 1
        else:
            match = re.compile(r"[^\s()\"']+").match(text, i)
            word = match.group(0)
            kind = word.upper() if word.upper() in KEYWORDS else "NAME"
            tokens.append(Token(kind, word, i + 1))
            i = match.end()
    tokens.append(Token("END", "", len(text) + 1))
    return tokens


class _Parser:
    """Recursive descent: or := and (OR and)*; and := not (AND not)*;
    not := NOT not | atom; atom := NAME | ( or )."""

    def __init__(self, text: str, option: str):
        self.text, self.option = text, option
        self.tokens = tokenize(text, option)
        self.at = 0

    def peek(self) -> Token:
        return self.tokens[self.at]

    def take(self) -> Token:
        token = self.tokens[self.at]
        self.at += 1
        return token

    def fail(self, expected: str, token: Token) -> QueryError:
        found = "the end of the query" if token.kind == "END" else repr(token.text)
        return QueryError(self.option, f"expected {expected} at position {token.position}, "
                          f"found {found} (in {self.text!r})", token.position)

    def parse(self) -> Node:
        node = self.or_()
        token = self.peek()
        if token.kind == ")":
            raise QueryError(self.option, f"')' at position {token.position} closes nothing "
                             f"(in {self.text!r})", token.position)
        if token.kind != "END":
            raise self.fail("AND, OR or the end of the query", token)
        return node

    def or_(self) -> Node:
        node = self.and_()
        while self.peek().kind == "OR":
            self.take()
            node = Or(node, self.and_())
        return node

    def and_(self) -> Node:
        node = self.not_()
        while self.peek().kind == "AND":
            self.take()
            node = And(node, self.not_())
        return node

    def not_(self) -> Node:
        if self.peek().kind == "NOT":
            self.take()
            return Not(self.not_())
        return self.atom()

    def atom(self) -> Node:
        token = self.take()
        if token.kind == "NAME":
            return Code(token.text, token.position)
        if token.kind == "(":
            node = self.or_()
            close = self.peek()
            if close.kind != ")":
                if close.kind == "END":
                    raise QueryError(self.option, f"the '(' at position {token.position} is "
                                     f"not closed (in {self.text!r})", token.position)
                raise self.fail("AND, OR or ')'", close)
            self.take()
            return node
        raise self.fail("a code name, NOT or '('", token)


def parse_query(text: str, option: str = "--query") -> Node:
    """The expression in *text*; a QueryError names the position of the first problem."""
    if not text or not text.strip():
        raise QueryError(option, "the query is empty; e.g. \"trust AND NOT distrust\"", 1)
    return _Parser(text, option).parse()


def codes_in(node: Node) -> list[Code]:
    """Every code name in the expression, in order."""
    if isinstance(node, Code):
        return [node]
    if isinstance(node, Not):
        return codes_in(node.operand)
    return [*codes_in(node.left), *codes_in(node.right)]


def positive_codes(node: Node, negated: bool = False) -> list[Code]:
    """The code names not under a NOT (an even number of them): the codes whose codings
    a query selects."""
    if isinstance(node, Code):
        return [] if negated else [node]
    if isinstance(node, Not):
        return positive_codes(node.operand, not negated)
    return [*positive_codes(node.left, negated), *positive_codes(node.right, negated)]


def evaluate(node: Node, present: Callable[[str], bool]) -> bool:
    """Whether the expression holds where ``present(name)`` says which codes are there."""
    if isinstance(node, Code):
        return present(node.name)
    if isinstance(node, Not):
        return not evaluate(node.operand, present)
    if isinstance(node, And):
        return evaluate(node.left, present) and evaluate(node.right, present)
    return evaluate(node.left, present) or evaluate(node.right, present)


# -- near ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Near:
    first: str
    second: str
    distance: int  # sentences between them at most; 0: the same sentence


def parse_near(text: str, option: str = "--near") -> Near:
    """``A,B:N`` (N sentences; ``A,B`` is ``A,B:1``)."""
    body, distance = text.strip(), 1
    match = re.fullmatch(r"(.*?):\s*(\S*)", body)
    if match and "," in match.group(1):
        body, number = match.group(1), match.group(2)
        if not number.isdigit():
            raise QueryError(option, f"expected a number of sentences after ':' at position "
                             f"{text.rindex(':') + 2}, found {number or 'nothing'!r} "
                             f"(in {text!r})", text.rindex(":") + 2)
        distance = int(number)
    names = [name.strip().strip("\"'").strip() for name in body.split(",")]
    if len(names) != 2 or not all(names):
        raise QueryError(option, f"expected two codes and a distance, CODE,CODE:N (e.g. "
                         f"\"trust,state:2\"), got {text!r}")
    return Near(names[0], names[1], distance)


# -- selection (pure) ------------------------------------------------------------------


@dataclass(frozen=True)
class Coding:
    id: int
    revision_id: int
    start: int
    end: int
    code_id: int


Bounds = tuple[list[int], list[int]]  # (starts, ends) of a revision's units, in order


def unit_range(bounds: Bounds, start: int, end: int) -> tuple[int, int]:
    """The first and last index of the units a span overlaps (the unit it lies in or next
    to, if it overlaps none); (0, 0) when there are no units (the whole document)."""
    starts, ends = bounds
    if not starts:
        return 0, 0
    first = bisect_right(ends, start)  # first unit ending after the start
    last = bisect_left(starts, end) - 1  # last unit starting before the end
    if first > last:
        nearest = min(max(bisect_right(starts, start) - 1, 0), len(starts) - 1)
        return nearest, nearest
    return first, last


def select(codings: Iterable[Coding], *, units: dict[int, Bounds],
           sentences: dict[int, Bounds], query: Node | None = None,
           ids: dict[str, frozenset[int]] | None = None,
           near: Near | None = None) -> set[int]:
    """Ids of the codings that *query* (on *units*) and *near* (in *sentences*) select.
    *ids* maps each code name in them to the code ids it stands for."""
    codings = list(codings)
    ids = ids or {}
    chosen = {c.id for c in codings}
    if query is not None:
        chosen &= _by_query(codings, units, query, ids)
    if near is not None:
        chosen &= _by_near(codings, sentences, near, ids)
    return chosen


def _by_query(codings: list[Coding], units: dict[int, Bounds], query: Node,
              ids: dict[str, frozenset[int]]) -> set[int]:
    present: dict[tuple[int, int], set[int]] = {}  # (revision, unit) -> code ids there
    spans = {}
    for c in codings:
        first, last = unit_range(units.get(c.revision_id, ([], [])), c.start, c.end)
        spans[c.id] = (first, last)
        for unit in range(first, last + 1):
            present.setdefault((c.revision_id, unit), set()).add(c.code_id)
    truth: dict[tuple[int, int], bool] = {}

    def holds(key: tuple[int, int]) -> bool:
        if key not in truth:
            there = present.get(key, set())
            truth[key] = evaluate(query, lambda name: not there.isdisjoint(ids[name]))
        return truth[key]

    wanted = positive_codes(query)
    allowed = frozenset().union(*(ids[c.name] for c in wanted)) if wanted else None
    return {c.id for c in codings
            if (allowed is None or c.code_id in allowed)
            and any(holds((c.revision_id, u)) for u in range(spans[c.id][0], spans[c.id][1] + 1))}


def _by_near(codings: list[Coding], sentences: dict[int, Bounds], near: Near,
             ids: dict[str, frozenset[int]]) -> set[int]:
    first_ids, second_ids = ids[near.first], ids[near.second]
    ranges: dict[int, list[tuple[int, int, int, int]]] = {}  # revision -> (a, b, id, code)
    for c in codings:
        if c.code_id in first_ids or c.code_id in second_ids:
            a, b = unit_range(sentences.get(c.revision_id, ([], [])), c.start, c.end)
            ranges.setdefault(c.revision_id, []).append((a, b, c.id, c.code_id))
    chosen = set()
    for found in ranges.values():
        found.sort()
        firsts = [a for a, _, _, _ in found]
        for a, b, coding, code in found:
            for mine, other in ((first_ids, second_ids), (second_ids, first_ids)):
                if code not in mine:
                    continue
                # codings starting no later than N after this one ends, ending no earlier
                # than N before it starts
                reach = bisect_right(firsts, b + near.distance)
                if any(o_code in other and o_id != coding and o_b >= a - near.distance
                       for _, o_b, o_id, o_code in found[:reach]):
                    chosen.add(coding)
                    break
    return chosen


# -- from a project --------------------------------------------------------------------


def resolve_names(db, names: Iterable[Code | str], option: str) -> dict[str, frozenset[int]]:
    """Each name's code and sub-code ids; an unknown name is an error naming its place."""
    from qcode.codes import descendants, resolve_code
    from qcode.errors import NotFoundError

    out: dict[str, frozenset[int]] = {}
    for item in names:
        name = item.name if isinstance(item, Code) else item
        if name in out:
            continue
        try:
            out[name] = frozenset(descendants(db, resolve_code(db, name)["id"]))
        except NotFoundError as exc:
            where = f"at position {item.position}: " if isinstance(item, Code) else ""
            raise QueryError(option, f"{where}{exc}",
                             item.position if isinstance(item, Code) else None) from None
    return out


def _bounds(db, revisions: list[int], unit: str) -> dict[int, Bounds]:
    import json

    from qcode.store.words import _unpack, read_sentences, turn_rows

    given = json.dumps(revisions)
    if unit == "document":
        return {}
    if unit == "turn":
        turns = {r: (list(_unpack(s)), list(_unpack(e))) for r, s, e, _ in turn_rows(db, given)}
        sentences = _bounds(db, revisions, "sentence")
        # a transcript without turns: its sentences are its units
        return {r: turns[r] if turns.get(r, ([], []))[0] else sentences.get(r, ([], []))
                for r in revisions}
    return {r: (list(s), list(e)) for r, (s, e) in read_sentences(db, given).items()}


def matching_codings(db, scope, *, query: str | None = None, near: str | None = None,
                     unit: str = "sentence") -> set[int]:
    """Ids of the codings in *scope* (its --code aside: a query names its own codes) that
    *query* and *near* select. Bad queries raise QueryError before anything is read."""
    from dataclasses import replace

    from qcode.analysis.scope import codings_in_scope

    if unit not in UNITS:
        raise QueryError("--unit", f"expected one of {', '.join(UNITS)}, got {unit!r}")
    tree = parse_query(query) if query is not None else None
    close = parse_near(near) if near is not None else None
    ids = resolve_names(db, codes_in(tree), "--query") if tree is not None else {}
    if close is not None:
        ids.update(resolve_names(db, [close.first, close.second], "--near"))
    sql, params = codings_in_scope(db, replace(scope, code=None, children=False), joins=None)
    codings = [Coding(*row) for row in db.execute(
        "SELECT c.id, c.revision_id, c.start, c.\"end\", c.code_id " + sql, params)]
    revisions = sorted({c.revision_id for c in codings})
    return select(codings, units=_bounds(db, revisions, unit),
                  sentences=_bounds(db, revisions, "sentence") if close else {},
                  query=tree, ids=ids, near=close)
