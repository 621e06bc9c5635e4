"""Refuse user regular expressions that can take exponential time.

Python's re backtracks: a repetition inside a repetition, as in ``(a+)+`` or
``(\\w*\\s?)*``, can try exponentially many ways to match a line that almost fits, and
re has no timeout. Such nesting is refused where a user's pattern enters qcode (the
speaker pattern in qcode.yaml; codebook patterns have no regular expressions at all).
"""

from __future__ import annotations

try:  # Python 3.11+
    from re import _constants as _c
    from re import _parser as _p
except ImportError:  # pragma: no cover - older Pythons are not supported
    _p = _c = None

_REPEATS = ("MAX_REPEAT", "MIN_REPEAT", "POSSESSIVE_REPEAT")


def nested_repetition(pattern: str) -> str | None:
    """A description of the first repetition nested in another, or None."""
    if _p is None:
        return None
    return _walk(_p.parse(pattern), inside=False)


def _walk(items, inside: bool) -> str | None:
    for op, av in items:
        name = str(op)
        if name in _REPEATS:
            low, high, sub = av
            repeats = high is _c.MAXREPEAT or high > 1
            if repeats and inside:
                return "a repetition inside a repetition, e.g. (a+)+"
            found = _walk(sub, inside or repeats)
        elif name == "SUBPATTERN":
            found = _walk(av[3], inside)
        elif name == "BRANCH":
            found = next((r for r in (_walk(b, inside) for b in av[1]) if r), None)
        elif name in ("ASSERT", "ASSERT_NOT"):
            found = _walk(av[1], inside)
        elif name == "ATOMIC_GROUP":
            found = _walk(av, inside)
        else:
            found = None
        if found:
            return found
    return None
