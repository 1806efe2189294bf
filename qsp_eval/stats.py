"""Small-count statistics shared by the analysis modules.

Pure functions on numbers or arrays: no DataFrame I/O, no plotting.
"""

from __future__ import annotations

import numpy as np
from scipy import stats as _st

__all__ = ["wilson_ci", "poisson_exact_ci"]


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
        low = np.where(n > 0, np.clip(centre - half, 0, 1), np.nan)
        high = np.where(n > 0, np.clip(centre + half, 0, 1), np.nan)
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
