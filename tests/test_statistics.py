"""The agreement statistics against published worked examples and reference packages."""

import random

import pytest

from qcode.analysis.statistics import cohen_kappa, krippendorff_alpha_nominal, percent_agreement


def weighted(rows):
    return [(tuple(r), 1) for r in rows]


def test_krippendorff_2011_worked_example_nominal_with_missing_values():
    # Krippendorff (2011), "Computing Krippendorff's Alpha-Reliability", section C:
    # 4 coders, 12 units, nominal data with missing values: alpha = 0.743
    A = [1, 2, 3, 3, 2, 1, 4, 1, 2, None, None, None]
    B = [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, None, 3]
    C = [None, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, None]
    D = [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, None]
    alpha = krippendorff_alpha_nominal(weighted(zip(A, B, C, D, strict=True)))
    assert alpha == pytest.approx(0.743, abs=0.001)


def test_cohen_kappa_textbook_example():
    # 50 proposals, two readers: yes/yes 20, yes/no 5, no/yes 10, no/no 15 -> kappa 0.4
    pairs = [(("yes", "yes"), 20), (("yes", "no"), 5), (("no", "yes"), 10), (("no", "no"), 15)]
    assert cohen_kappa(pairs) == pytest.approx(0.4)
    assert percent_agreement([(("yes", "yes"), 20), (("yes", "no"), 5), (("no", "yes"), 10),
                              (("no", "no"), 15)]) == pytest.approx(0.7)


@pytest.mark.parametrize("seed", range(8))
def test_against_sklearn_and_the_krippendorff_package_on_random_data(seed):
    sklearn = pytest.importorskip("sklearn.metrics")
    krippendorff = pytest.importorskip("krippendorff")
    rng = random.Random(seed)
    coders = rng.choice([2, 3, 4])
    units = rng.randint(20, 200)
    data = [[rng.choice([0, 1, 1, 2]) for _ in range(units)] for _ in range(coders)]
    for row in data:  # some missing values
        for i in rng.sample(range(units), units // 10):
            row[i] = None
    expected = krippendorff.alpha(
        reliability_data=[[float("nan") if v is None else v for v in row] for row in data],
        level_of_measurement="nominal")
    ours = krippendorff_alpha_nominal(weighted(zip(*data, strict=True)))
    assert ours == pytest.approx(expected, abs=1e-9)
    a, b = [rng.choice("xyz") for _ in range(units)], [rng.choice("xyz") for _ in range(units)]
    assert cohen_kappa([((x, y), 1) for x, y in zip(a, b, strict=True)]) == pytest.approx(
        sklearn.cohen_kappa_score(a, b), abs=1e-9)


def test_undefined_cases_are_none():
    assert krippendorff_alpha_nominal(weighted([(1, 1), (1, 1)])) is None
    assert cohen_kappa([(("a", "a"), 5)]) is None
    assert krippendorff_alpha_nominal([]) is None


def test_weights_equal_repetition():
    rows = [((1, 0), 3), ((0, 0), 5), ((1, 1), 2)]
    expanded = [(values, 1) for values, n in rows for _ in range(n)]
    assert krippendorff_alpha_nominal(rows) == pytest.approx(krippendorff_alpha_nominal(expanded))
    assert cohen_kappa(rows) == pytest.approx(cohen_kappa(expanded))
