"""Statistics of a weighted nonlinear least-squares fit.

Given the weighted residuals r (n) at the optimum and their Jacobian
J = dr/dθ (n x p) with respect to the parameters θ, this module gives what
a statistician reports for a nonlinear regression (Bates and Watts, *Nonlinear
Regression Analysis and Its Applications*, 1988, ch. 2 and 6; Seber and Wild,
*Nonlinear Regression*, 1989, ch. 5):

* the residual variance s² = S/(n - p), S = rᵀr;
* the linearised covariance C = s² (JᵀJ)⁻¹ (computed from the SVD of J, so a
  rank-deficient J is detected rather than inverted), standard errors and
  t-based 95 % intervals with n - p degrees of freedom;
* the correlation matrix;
* the F-test threshold of the profile likelihood,
  S(θ) ≤ S_min (1 + F(α; 1, n - p)/(n - p)) (Bates and Watts, eq. 6.5);
* AICc and BIC for model discrimination (Burnham and Anderson, *Model
  Selection and Multimodel Inference*, 2002, eq. 2.14), with Akaike weights.

All functions take plain arrays; transforming to the user's parameter form
(k from log k) is the caller's job.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import stats

__all__ = ["linearised_covariance", "t_interval", "profile_threshold", "information_criteria",
           "akaike_weights", "correlation_from_covariance"]


def linearised_covariance(jacobian, residuals, rank_tol=1e-10):
    """Covariance of the estimates from the Jacobian at the optimum.

    Returns ``(covariance, s2, dof, rank)``; the covariance is ``inf`` along
    directions the data do not determine (singular values below
    ``rank_tol`` times the largest), so a non-identifiable parameter gets an
    infinite standard error instead of a meaningless number.
    """
    J = np.asarray(jacobian, float)
    r = np.asarray(residuals, float)
    n, p = J.shape
    dof = n - p
    S = float(r @ r)
    s2 = S / dof if dof > 0 else math.nan
    if p == 0:
        return np.zeros((0, 0)), s2, dof, 0
    _, sv, Vt = np.linalg.svd(J, full_matrices=False)
    keep = sv > rank_tol * sv[0] if sv.size and sv[0] > 0 else np.zeros_like(sv, bool)
    rank = int(np.count_nonzero(keep))
    inv_sq = np.where(keep, 1.0 / np.where(keep, sv, 1.0) ** 2, 0.0)
    cov = (Vt.T * inv_sq) @ Vt * s2
    if rank < p:
        # directions in the null space have unbounded variance
        null = Vt[~keep]
        weight = np.sum(null ** 2, axis=0) > 1e-12
        cov[weight, :] = np.inf
        cov[:, weight] = np.inf
    return cov, s2, dof, rank


def correlation_from_covariance(cov):
    """Correlation matrix; NaN where a variance is infinite or zero."""
    sd = np.sqrt(np.diag(cov))
    with np.errstate(invalid="ignore", divide="ignore"):
        corr = cov / np.outer(sd, sd)
    corr[~np.isfinite(corr)] = np.nan
    np.fill_diagonal(corr, 1.0)
    return corr


def t_interval(estimate, std_error, dof, level=0.95):
    """Two-sided interval estimate ± t(1 - α/2, dof) · std_error."""
    if not dof > 0:
        return (-math.inf, math.inf)
    t = stats.t.ppf(0.5 + level / 2.0, dof)
    return (estimate - t * std_error, estimate + t * std_error)


def profile_threshold(s_min, n, p, level=0.95):
    """Largest sum of squares inside the profile-likelihood interval of one
    parameter: S_min (1 + F(level; 1, n - p)/(n - p))."""
    dof = n - p
    if dof <= 0:
        return math.inf
    return s_min * (1.0 + stats.f.ppf(level, 1, dof) / dof)


def information_criteria(s_min, n, p, weighted=True):
    """AIC, AICc and BIC of a least-squares fit with Gaussian errors.

    With ``weighted`` residuals of known scale the log-likelihood is
    -S/2 (up to a constant); otherwise the error variance is estimated too
    (one more parameter) and the log-likelihood is -n/2 ln(S/n). Constants
    common to all candidates fitted to the same data are dropped.
    """
    if weighted:
        k = p
        neg2ll = s_min
    else:
        k = p + 1
        neg2ll = n * math.log(max(s_min, 1e-300) / n)
    aic = neg2ll + 2 * k
    aicc = aic + (2 * k * (k + 1) / (n - k - 1) if n - k - 1 > 0 else math.inf)
    bic = neg2ll + k * math.log(n)
    return {"aic": aic, "aicc": aicc, "bic": bic, "n_parameters": k}


def akaike_weights(aicc_values):
    """Akaike weights exp(-Δ/2)/Σ exp(-Δ/2) of the candidates' AICc."""
    a = np.asarray(aicc_values, float)
    finite = np.isfinite(a)
    w = np.zeros_like(a)
    if finite.any():
        d = a[finite] - a[finite].min()
        e = np.exp(-0.5 * d)
        w[finite] = e / e.sum()
    return w
