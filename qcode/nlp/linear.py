"""Multi-label logistic regression for small, unbalanced coded samples (numpy + scipy).

One linear model per code, all fitted together by L-BFGS on the sum of their losses:

* L2-regularised (``l2`` = 1/C of the usual formulation), so a word seen in two coded
  sentences cannot carry a code by itself — the thinc model this replaces had no
  regularisation to speak of and nearly memorised its training data;
* class-balanced: each code's positives weigh as much in total as its negatives,
  so a code with five coded sentences among thousands is still learnt;
* masked: a unit's value for a code may be unknown (a rejected suggestion says only
  that one code is wrong there; a codebook example is a positive for its own code
  only), and unknown values do not enter the loss.

Products run in float32 (half the memory traffic of float64: sparse products are
most of the time); the optimiser keeps float64.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy


@dataclass
class LinearModel:
    weights: numpy.ndarray  # (features, codes)
    bias: numpy.ndarray  # (codes,)

    def logits(self, x) -> numpy.ndarray:
        return numpy.asarray(x @ self.weights, dtype=numpy.float64) + self.bias


def fit(x, y: numpy.ndarray, known: numpy.ndarray, *, l2: float = 1.0,
        sample_weight: numpy.ndarray | None = None, max_iter: int = 100,
        start: LinearModel | None = None) -> LinearModel:
    """*x*: (units, features) sparse; *y*, *known*: (units, codes) 0/1 arrays.
    *start*: weights to start from (a model of similar data converges sooner)."""
    from scipy.optimize import minimize
    from scipy.special import expit

    n, d = x.shape
    codes = y.shape[1]
    x = x.astype(numpy.float32)
    xt = x.T.tocsr()
    y = y.astype(numpy.float32)
    known = known.astype(numpy.float32)
    if sample_weight is not None:
        known = known * sample_weight.astype(numpy.float32)[:, None]
    positives = (y * known).sum(axis=0)
    negatives = ((1 - y) * known).sum(axis=0)
    total = positives + negatives
    weight = known * numpy.where(y > 0, total / (2 * numpy.maximum(positives, 1e-9)),
                                 total / (2 * numpy.maximum(negatives, 1e-9)))
    weight = weight.astype(numpy.float32)

    def loss_and_gradient(theta):
        w = theta[:d * codes].reshape(d, codes).astype(numpy.float32)
        b = theta[d * codes:].astype(numpy.float32)
        z = x @ w + b
        loss = float((weight * (numpy.logaddexp(0.0, z) - y * z)).sum(dtype=numpy.float64)) \
            + 0.5 * l2 * float((w * w).sum(dtype=numpy.float64))
        residual = weight * (expit(z) - y)
        grad_w = xt @ residual + l2 * w
        return loss, numpy.concatenate([grad_w.ravel(), residual.sum(axis=0)]).astype(
            numpy.float64)

    theta = numpy.zeros(d * codes + codes)
    if start is not None:
        theta[:d * codes] = start.weights.ravel()
        theta[d * codes:] = start.bias
    result = minimize(loss_and_gradient, theta, jac=True, method="L-BFGS-B",
                      options={"maxiter": max_iter})
    theta = result.x
    return LinearModel(theta[:d * codes].reshape(d, codes).astype(numpy.float32),
                       theta[d * codes:].copy())
