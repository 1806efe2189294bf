"""Small-count statistics shared by the analysis modules.

Pure functions on numbers or arrays: no DataFrame I/O, no plotting.
"""

from __future__ import annotations

import numpy as np
from scipy import stats as _st

__all__ = [
    "holm_adjust","wilson_ci", "poisson_exact_ci", "count_mean_ci", "newcombe_diff_ci", "cochran_armitage",
           "homogeneity_test", "rate_ratio_ci"]


def wilson_ci(count, n, *, level: float = 0.95):
    """Wilson score interval for a proportion ``count / n``.

    Parameters
    ----------
    count, n : int or array-like
        Successes and trials; where ``n == 0`` the bounds are NaN.
    level : float
        Confidence level.

    Returns
    -------
    (low, high) : tuple of float or numpy arrays
        Bounds in [0, 1]; the lower bound is exactly 0 when ``count == 0`` and
        the upper bound exactly 1 when ``count == n`` (as the score interval
        gives them in exact arithmetic).

    Examples
    --------
    >>> lo, hi = wilson_ci(3, 10)
    >>> round(float(lo), 4), round(float(hi), 4)
    (0.1078, 0.6032)
    """
    count = np.asarray(count, dtype=float)
    n = np.asarray(n, dtype=float)
    z = _st.norm.ppf(0.5 + level / 2)
    with np.errstate(invalid="ignore", divide="ignore"):
        p = count / n
        denom = 1 + z**2 / n
        centre = (p + z**2 / (2 * n)) / denom
        half = z * np.sqrt(p * (1 - p) / n + z**2 / (4 * n**2)) / denom
        # the score bounds are exactly 0 at count 0 and exactly 1 at count n; the
        # floating-point subtraction leaves ~1e-17 there, so set the edges exactly
        low = np.where(count <= 0, 0.0, np.clip(centre - half, 0, 1))
        high = np.where(count >= n, 1.0, np.clip(centre + half, 0, 1))
        low = np.where(n > 0, low, np.nan)
        high = np.where(n > 0, high, np.nan)
    if low.ndim == 0:
        return float(low), float(high)
    return low, high


def poisson_exact_ci(total, exposure=1, *, level: float = 0.95):
    """Exact (Garwood) interval for a Poisson rate ``total / exposure``.

    Used for the mean number of visits per held session: ``total`` visits
    over ``exposure`` sessions.  The lower bound is 0 when ``total == 0``;
    both bounds are NaN when ``exposure == 0``.

    Examples
    --------
    >>> lo, hi = poisson_exact_ci(10, 1)
    >>> round(float(lo), 3), round(float(hi), 3)
    (4.795, 18.39)
    """
    total = np.asarray(total, dtype=float)
    exposure = np.asarray(exposure, dtype=float)
    a = 1 - level
    with np.errstate(invalid="ignore", divide="ignore"):
        low = np.where(total > 0, _st.chi2.ppf(a / 2, 2 * total) / 2, 0.0)
        high = _st.chi2.ppf(1 - a / 2, 2 * (total + 1)) / 2
        low = np.where(exposure > 0, low / exposure, np.nan)
        high = np.where(exposure > 0, high / exposure, np.nan)
    if low.ndim == 0:
        return float(low), float(high)
    return low, high


# ---------------------------------------------------------------------------
# Mean of counts per session
# ---------------------------------------------------------------------------
def count_mean_ci(counts, *, level: float = 0.95) -> dict:
    """Mean of per-unit counts (e.g. visits per held session) with an interval suited to counts.

    The method is chosen from the data and named in the result:

    * ``"poisson_exact"``: exact (Garwood) interval on the total, divided by
      the number of units, when the counts are not overdispersed (Pearson
      dispersion ``phi = variance / mean <= 1``) or there are fewer than 3 units;
    * ``"quasi_poisson"``: when ``phi > 1``, a quasi-Poisson interval on the
      log scale, ``exp(log(mean) ± t(n-1) * sqrt(phi / total))`` (Poisson
      variance inflated by ``phi``, t quantile with ``n - 1`` degrees of freedom).

    Parameters
    ----------
    counts : array-like of int
        One count per unit (NaN/NA values are dropped).
    level : float
        Confidence level.

    Returns
    -------
    dict
        ``n`` (units), ``total``, ``estimate`` (mean), ``ci_low``, ``ci_high``,
        ``dispersion`` (phi, NaN with fewer than 2 units), ``ci_method``.
        With no unit the estimate and bounds are NaN and ``ci_method`` is ``"none"``.

    Examples
    --------
    >>> r = count_mean_ci([2, 3, 4])   # mean 3, variance 1, phi = 1/3 -> exact Poisson
    >>> r["estimate"], r["ci_method"]
    (3.0, 'poisson_exact')
    """
    import pandas as pd

    x = pd.to_numeric(pd.Series(np.asarray(counts, dtype=object).ravel()), errors="coerce")
    x = x.dropna().to_numpy(dtype=float)
    n = len(x)
    out = {"n": n, "total": float(x.sum()) if n else 0.0, "estimate": np.nan, "ci_low": np.nan,
           "ci_high": np.nan, "dispersion": np.nan, "ci_method": "none"}
    if n == 0:
        return out
    total = float(x.sum())
    mean = total / n
    out["estimate"] = mean
    phi = float(np.var(x, ddof=1) / mean) if n >= 2 and mean > 0 else np.nan
    out["dispersion"] = phi
    if n >= 3 and total > 0 and phi > 1:
        t = _st.t.ppf(0.5 + level / 2, n - 1)
        half = t * np.sqrt(phi / total)
        out["ci_low"], out["ci_high"] = float(mean * np.exp(-half)), float(mean * np.exp(half))
        out["ci_method"] = "quasi_poisson"
    else:
        out["ci_low"], out["ci_high"] = poisson_exact_ci(total, n, level=level)
        out["ci_method"] = "poisson_exact"
    return out


# ---------------------------------------------------------------------------
# Proportions: difference, trend, homogeneity
# ---------------------------------------------------------------------------
def newcombe_diff_ci(x1, n1, x2, n2, *, level: float = 0.95):
    """Newcombe's hybrid score interval for ``p1 - p2`` (Newcombe 1998, method 10).

    Built from the Wilson intervals ``(l1, u1)`` and ``(l2, u2)`` of each
    proportion: ``low = d - sqrt((p1 - l1)^2 + (u2 - p2)^2)``,
    ``high = d + sqrt((u1 - p1)^2 + (p2 - l2)^2)`` with ``d = p1 - p2``.
    Good coverage with small counts and zero cells.

    Returns
    -------
    (estimate, low, high) : tuple of float
        NaN when either ``n`` is 0.

    Examples
    --------
    >>> d, lo, hi = newcombe_diff_ci(56, 70, 48, 80)   # Newcombe (1998), example (a)
    >>> round(d, 4), round(lo, 4), round(hi, 4)
    (0.2, 0.0524, 0.3339)
    """
    if n1 == 0 or n2 == 0:
        return np.nan, np.nan, np.nan
    p1, p2 = x1 / n1, x2 / n2
    l1, u1 = wilson_ci(x1, n1, level=level)
    l2, u2 = wilson_ci(x2, n2, level=level)
    d = p1 - p2
    low = d - np.sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2)
    high = d + np.sqrt((u1 - p1) ** 2 + (p2 - l2) ** 2)
    return float(d), float(low), float(high)


def cochran_armitage(counts, totals, scores=None) -> dict:
    """Cochran–Armitage test for a linear trend in proportions across ordered groups.

    ``z = sum t_i (x_i - n_i p) / sqrt(p (1 - p) [sum n_i t_i^2 - (sum n_i t_i)^2 / N])``
    with ``p = sum x_i / N``; two-sided p-value from the normal distribution.
    ``z^2`` equals R's ``prop.trend.test`` statistic.  Groups with ``n_i == 0``
    are dropped (they carry no information).

    Parameters
    ----------
    counts, totals : array-like of int
        Successes and trials per ordered group (e.g. per period).
    scores : array-like of float, optional
        Scores of the groups (default ``0, 1, 2...`` in order of the groups kept).

    Returns
    -------
    dict
        ``test`` ("cochran_armitage"), ``statistic`` (z), ``chi2`` (z²), ``df`` (1),
        ``p_value``, ``n``.  NaN statistic and p-value when fewer than 2 groups
        have data or the proportion is 0 or 1 overall.

    Examples
    --------
    >>> r = cochran_armitage([83, 90, 129, 70], [86, 93, 136, 82])   # R ?prop.trend.test
    >>> round(r["chi2"], 4)
    8.2249
    """
    x = np.asarray(counts, dtype=float)
    n = np.asarray(totals, dtype=float)
    t = np.arange(len(x), dtype=float) if scores is None else np.asarray(scores, dtype=float)
    keep = n > 0
    x, n, t = x[keep], n[keep], t[keep]
    N = n.sum()
    res = {"test": "cochran_armitage", "statistic": np.nan, "chi2": np.nan, "df": 1,
           "p_value": np.nan, "n": int(N)}
    if len(x) < 2 or N == 0:
        return res
    p = x.sum() / N
    var = p * (1 - p) * ((n * t**2).sum() - (n * t).sum() ** 2 / N)
    if var <= 0:
        return res
    z = float((t * (x - n * p)).sum() / np.sqrt(var))
    res.update(statistic=z, chi2=z * z, p_value=float(2 * _st.norm.sf(abs(z))))
    return res


def homogeneity_test(table, *, method: str = "auto", n_sim: int = 20000, seed: int = 20231,
                     min_expected: float = 5.0) -> dict:
    """Test that the distribution of a categorical answer is the same in every column (period).

    Parameters
    ----------
    table : array-like, shape (groups, periods)
        Counts; rows and columns with a zero total are dropped first.
    method : {"auto", "chi2", "exact"}
        ``"chi2"``: Pearson chi-square (no continuity correction);
        ``"exact"``: Fisher–Freeman–Halton exact test by Monte Carlo over
        tables with the observed margins (``n_sim`` draws; p-value
        ``(1 + #{P(sim) <= P(obs)}) / (n_sim + 1)``, as R's
        ``fisher.test(simulate.p.value = TRUE)``);
        ``"auto"``: chi-square when every expected count is at least
        ``min_expected``, exact otherwise.  A 2 × 2 table gets Fisher's exact
        test (exact enumeration, ``scipy.stats.fisher_exact``) instead of Monte Carlo.
    seed : int
        Seed of the Monte Carlo draws (results are reproducible).

    Returns
    -------
    dict
        ``test`` ("chi_square", "fisher_exact" or "fisher_freeman_halton_mc"), ``statistic``
        (Pearson X², given for both), ``df``, ``p_value``, ``n``,
        ``min_expected``.  NaN p-value when fewer than 2 rows or columns remain.

    Examples
    --------
    >>> r = homogeneity_test([[83, 90, 129, 70], [3, 3, 7, 12]])   # R ?prop.test example
    >>> r["test"], round(r["statistic"], 1)
    ('chi_square', 12.6)
    """
    m = np.asarray(table, dtype=float)
    m = m[m.sum(axis=1) > 0][:, m[m.sum(axis=1) > 0].sum(axis=0) > 0] if m.size else m
    res = {"test": "chi_square", "statistic": np.nan, "df": np.nan, "p_value": np.nan,
           "n": int(m.sum()) if m.size else 0, "min_expected": np.nan}
    if m.ndim != 2 or m.shape[0] < 2 or m.shape[1] < 2:
        if method == "exact":
            res["test"] = "fisher_freeman_halton_mc"
        return res
    N = m.sum()
    rows, cols = m.sum(axis=1), m.sum(axis=0)
    exp = np.outer(rows, cols) / N
    x2 = float(((m - exp) ** 2 / exp).sum())
    df = (m.shape[0] - 1) * (m.shape[1] - 1)
    res.update(statistic=x2, df=df, min_expected=float(exp.min()))
    use_exact = method == "exact" or (method == "auto" and exp.min() < min_expected)
    if not use_exact:
        res["p_value"] = float(_st.chi2.sf(x2, df))
        return res
    if m.shape == (2, 2):
        res["test"] = "fisher_exact"
        res["p_value"] = float(_st.fisher_exact(m.astype(int)).pvalue)
        return res
    res["test"] = "fisher_freeman_halton_mc"
    res["p_value"] = _ffh_monte_carlo(m.astype(int), n_sim=n_sim, seed=seed)
    return res


def _log_table_prob(tables, rows, cols, N):
    from scipy.special import gammaln

    const = gammaln(rows + 1).sum() + gammaln(cols + 1).sum() - gammaln(N + 1)
    return const - gammaln(tables + 1).sum(axis=(-2, -1))


def _ffh_monte_carlo(m, *, n_sim, seed):
    rng = np.random.default_rng(seed)
    rows, cols = m.sum(axis=1), m.sum(axis=0)
    N = int(m.sum())
    r, c = m.shape
    # labels of each unit: row label fixed, column labels shuffled -> margins kept
    row_lab = np.repeat(np.arange(r), rows)
    col_lab = np.repeat(np.arange(c), cols)
    sims = np.empty((n_sim, r, c), dtype=int)
    chunk = max(1, 2_000_000 // max(N, 1))
    done = 0
    while done < n_sim:
        k = min(chunk, n_sim - done)
        perm = rng.permuted(np.broadcast_to(col_lab, (k, N)), axis=1)
        idx = row_lab[None, :] * c + perm + (np.arange(k)[:, None] * r * c)
        sims[done:done + k] = np.bincount(idx.ravel(), minlength=k * r * c).reshape(k, r, c)
        done += k
    lp_obs = _log_table_prob(m[None], rows, cols, N)[0]
    lp = _log_table_prob(sims, rows, cols, N)
    hits = int((lp <= lp_obs + 1e-7).sum())
    return float((1 + hits) / (n_sim + 1))


def rate_ratio_ci(count1, exposure1, count0, exposure0, *, level: float = 0.95) -> dict:
    """Ratio of two Poisson rates with an exact conditional interval.

    Conditional on ``count1 + count0``, ``count1`` is binomial with
    ``p = R e1 / (R e1 + e0)``; the Clopper–Pearson interval of ``p`` is
    mapped back to ``R``.  The p-value is the exact binomial test of ``R = 1``.

    Returns
    -------
    dict
        ``rate_ratio``, ``ci_low``, ``ci_high``, ``p_value``, ``test``
        ("exact_conditional_poisson").

    Examples
    --------
    >>> r = rate_ratio_ci(20, 10, 10, 10)
    >>> r["rate_ratio"]
    2.0
    """
    k, total = int(count1), int(count1 + count0)
    e1, e0 = float(exposure1), float(exposure0)
    res = {"rate_ratio": np.nan, "ci_low": np.nan, "ci_high": np.nan, "p_value": np.nan,
           "test": "exact_conditional_poisson"}
    if e1 <= 0 or e0 <= 0 or total == 0:
        return res
    a = 1 - level
    plo = _st.beta.ppf(a / 2, k, total - k + 1) if k > 0 else 0.0
    phi = _st.beta.ppf(1 - a / 2, k + 1, total - k) if k < total else 1.0

    def to_r(p):
        return p * e0 / ((1 - p) * e1) if p < 1 else np.inf

    res["rate_ratio"] = (k / e1) / (count0 / e0) if count0 > 0 else np.inf
    res["ci_low"], res["ci_high"] = float(to_r(plo)), float(to_r(phi))
    res["p_value"] = float(_st.binomtest(k, total, e1 / (e1 + e0)).pvalue)
    return res


def holm_adjust(p_values) -> np.ndarray:
    """Holm–Bonferroni adjusted p-values (step-down, controls the family-wise error).

    With ``m`` p-values sorted in increasing order ``p(1) ≤ … ≤ p(m)``, the
    adjusted value of ``p(i)`` is ``max_{j ≤ i} min(1, (m − j + 1)·p(j))``.
    Missing p-values stay NaN and do not count in ``m``.

    Examples
    --------
    >>> holm_adjust([0.01, 0.04, 0.03]).round(4).tolist()
    [0.03, 0.06, 0.06]
    """
    p = np.asarray(p_values, dtype=float)
    out = np.full(p.shape, np.nan)
    ok = np.flatnonzero(~np.isnan(p))
    m = len(ok)
    if m == 0:
        return out
    order = ok[np.argsort(p[ok], kind="stable")]
    scaled = np.minimum(1.0, (m - np.arange(m)) * p[order])
    out[order] = np.maximum.accumulate(scaled)
    return out
