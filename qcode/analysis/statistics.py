"""Agreement statistics, written out so every step can be checked against the literature.

Krippendorff's alpha (nominal) follows Krippendorff (2011), "Computing Krippendorff's
Alpha-Reliability": build the coincidence matrix from the pairable values of each unit,
then alpha = 1 - D_o / D_e. Units are given as value patterns with a weight (how many
units show that pattern), so character-level agreement over a long transcript costs
one entry per distinct pattern, not one per character.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Hashable, Iterable


def coincidences(units: Iterable[tuple[tuple, int]]) -> Counter:
    """o[(c, k)] summed over units; a unit's values are pairable when 2 or more coders
    gave one (None is a missing value)."""
    o: Counter = Counter()
    for values, weight in units:
        present = [v for v in values if v is not None]
        m = len(present)
        if m < 2:
            continue
        counts = Counter(present)
        for c, n_c in counts.items():
            for k, n_k in counts.items():
                pairs = n_c * (n_c - 1) if c == k else n_c * n_k
                if pairs:
                    o[(c, k)] += weight * pairs / (m - 1)
    return o


def krippendorff_alpha_nominal(units: Iterable[tuple[tuple, int]]) -> float | None:
    """Alpha for nominal data; None when it is undefined (fewer than two pairable values
    or only one category used, so there is no variation to agree about)."""
    o = coincidences(units)
    n_c: Counter = Counter()
    for (c, _k), value in o.items():
        n_c[c] += value
    n = sum(n_c.values())
    if n <= 1:
        return None
    expected = sum(n_c[c] * n_c[k] for c in n_c for k in n_c if c != k)
    if expected == 0:
        return None
    observed = sum(value for (c, k), value in o.items() if c != k)
    return 1 - (n - 1) * observed / expected


def cohen_kappa(pairs: Iterable[tuple[tuple[Hashable, Hashable], int]]) -> float | None:
    """Cohen's kappa for two coders from weighted (value of A, value of B) pairs."""
    table: Counter = Counter()
    for pair, weight in pairs:
        table[pair] += weight
    total = sum(table.values())
    if not total:
        return None
    a, b = Counter(), Counter()
    for (x, y), count in table.items():
        a[x] += count
        b[y] += count
    observed = sum(count for (x, y), count in table.items() if x == y) / total
    expected = sum(a[c] * b[c] for c in a) / total**2
    if expected == 1:
        return None
    return (observed - expected) / (1 - expected)


def percent_agreement(units: Iterable[tuple[tuple, int]]) -> float | None:
    """Share of units on which every coder gave the same value."""
    agree = total = 0
    for values, weight in units:
        total += weight
        agree += weight * (len(set(values)) == 1)
    return agree / total if total else None
