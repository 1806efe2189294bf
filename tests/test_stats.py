"""Small-count statistics against published values and hand arithmetic."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats as sst

from qsp_eval.stats import (
    cochran_armitage,
    count_mean_ci,
    homogeneity_test,
    newcombe_diff_ci,
    poisson_exact_ci,
    rate_ratio_ci,
    wilson_ci,
)


# --- Wilson -----------------------------------------------------------------
# Newcombe RG (1998) "Two-sided confidence intervals for the single proportion:
# comparison of seven methods", Stat Med 17:857-872, Table I, method 3 (score, no CC).
@pytest.mark.parametrize(
    "x, n, low, high",
    [(81, 263, 0.2553, 0.3662), (15, 148, 0.0624, 0.1605), (0, 20, 0.0, 0.1611),
     (1, 29, 0.0061, 0.1718)],
)
def test_wilson_newcombe_table_1(x, n, low, high):
    lo, hi = wilson_ci(x, n)
    assert lo == pytest.approx(low, abs=5e-5)
    assert hi == pytest.approx(high, abs=5e-5)


def test_wilson_zero_denominator_is_nan():
    lo, hi = wilson_ci(0, 0)
    assert math.isnan(lo) and math.isnan(hi)


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 500), st.sampled_from([0.8, 0.9, 0.95, 0.99]))
def test_wilson_edges_are_exact(n, level):
    # At x = 0: p = 0, centre = (z²/2n)/(1 + z²/n) and half = z·sqrt(z²/4n²)/(1 + z²/n)
    # = (z²/2n)/(1 + z²/n), so low = centre - half = 0 exactly; by symmetry (x -> n - x,
    # p -> 1 - p) high = 1 exactly at x = n.  Not "about 5.6e-17": exactly.
    assert wilson_ci(0, n, level=level)[0] == 0.0
    assert wilson_ci(n, n, level=level)[1] == 1.0
    lo, hi = wilson_ci([0, n, 0], [n, n, 0], level=level)
    assert lo[0] == 0.0 and hi[1] == 1.0
    assert math.isnan(lo[2]) and math.isnan(hi[2])   # n = 0 stays NaN


def test_wilson_edge_upper_bound_by_hand():
    # 0/20: upper = z²/(n + z²) = 3.8415/23.8415 = 0.1611 (Newcombe 1998 Table I);
    # 20/20 is its mirror image: lower = 1 - 0.1611 = 0.8389.
    assert wilson_ci(0, 20) == (0.0, pytest.approx(0.1611, abs=5e-5))
    assert wilson_ci(20, 20) == (pytest.approx(0.8389, abs=5e-5), 1.0)


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 200), st.integers(1, 200))
def test_wilson_contains_estimate(x, n):
    x = min(x, n)
    lo, hi = wilson_ci(x, n)
    assert 0 <= lo <= x / n + 1e-12 and x / n - 1e-12 <= hi <= 1


# --- Newcombe difference (method 10) ---------------------------------------------
# Newcombe RG (1998) "Interval estimation for the difference between independent
# proportions: comparison of eleven methods", Stat Med 17:873-890, Table II, method 10.
@pytest.mark.parametrize(
    "x1, n1, x2, n2, low, high",
    [(56, 70, 48, 80, 0.0524, 0.3339), (9, 10, 3, 10, 0.1705, 0.8090),
     (6, 7, 2, 7, 0.0582, 0.8062), (5, 56, 0, 29, -0.0381, 0.1926)],
)
def test_newcombe_published(x1, n1, x2, n2, low, high):
    d, lo, hi = newcombe_diff_ci(x1, n1, x2, n2)
    assert d == pytest.approx(x1 / n1 - x2 / n2)
    assert lo == pytest.approx(low, abs=5e-5)
    assert hi == pytest.approx(high, abs=5e-5)


def test_newcombe_both_zero_by_hand():
    # 0/10 - 0/20: d = 0; low = -(upper Wilson of 0/20) = -0.1611, high = upper Wilson of
    # 0/10 = 0.2775 (Newcombe 1998 Table I gives 0.1611; z²/(n+z²) = 3.8415/13.8415 = 0.2775).
    d, lo, hi = newcombe_diff_ci(0, 10, 0, 20)
    assert d == 0
    assert lo == pytest.approx(-0.1611, abs=5e-5)
    assert hi == pytest.approx(0.2775, abs=5e-5)


def test_newcombe_empty_group_nan():
    assert all(math.isnan(v) for v in newcombe_diff_ci(1, 0, 1, 2))


# --- Cochran-Armitage ----------------------------------------------------------
def test_cochran_armitage_r_prop_trend_test():
    # R documentation of prop.trend.test: smokers <- c(83, 90, 129, 70);
    # patients <- c(86, 93, 136, 82); prop.trend.test(smokers, patients)
    # -> X-squared = 8.2249, df = 1, p-value = 0.004132
    r = cochran_armitage([83, 90, 129, 70], [86, 93, 136, 82])
    assert r["chi2"] == pytest.approx(8.2249, abs=5e-4)
    assert r["p_value"] == pytest.approx(0.004132, abs=5e-6)
    assert r["statistic"] < 0  # proportion falls with the score
    assert r["test"] == "cochran_armitage"


def test_cochran_armitage_agresti_alcohol_malformation():
    # Agresti, Categorical Data Analysis (2nd ed., 2002), Table 2.7 / section 3.4.6:
    # malformation by alcohol consumption, scores 0, 0.5, 1.5, 4, 7.
    # Agresti reports M^2 = 6.6 (P = 0.01) for the linear trend; the Cochran-Armitage
    # statistic differs from M^2 only by the factor N/(N-1) (N = 32,574).
    present = [48, 38, 5, 1, 1]
    absent = [17066, 14464, 788, 126, 37]
    totals = [a + b for a, b in zip(present, absent)]
    r = cochran_armitage(present, totals, scores=[0, 0.5, 1.5, 4.0, 7.0])
    assert r["chi2"] == pytest.approx(6.6, abs=0.05)
    assert r["p_value"] == pytest.approx(0.01, abs=0.001)


def test_cochran_armitage_by_hand():
    # x = (0, 1, 2) of n = (2, 2, 2), scores 0, 1, 2: N = 6, p = 3/6 = 0.5
    # numerator: 0*(0-1) + 1*(1-1) + 2*(2-1) = 2
    # sum n t^2 = 2*(0+1+4) = 10; (sum n t)^2 / N = 6^2/6 = 6; variance = 0.25*(10-6) = 1
    # z = 2 / 1 = 2; two-sided p = 2 * (1 - Phi(2)) = 0.0455
    r = cochran_armitage([0, 1, 2], [2, 2, 2])
    assert r["statistic"] == pytest.approx(2.0)
    assert r["p_value"] == pytest.approx(0.0455, abs=1e-4)
    assert r["n"] == 6


def test_cochran_armitage_degenerate():
    # a period without anyone is dropped; one group left -> no test
    r = cochran_armitage([1, 0], [3, 0])
    assert math.isnan(r["p_value"])
    # proportion 0 everywhere: variance 0 -> no test
    assert math.isnan(cochran_armitage([0, 0], [3, 4])["p_value"])


# --- Homogeneity ----------------------------------------------------------------
def test_chi_square_r_prop_test():
    # R documentation of prop.test: prop.test(smokers, patients) with the data above
    # -> X-squared = 12.6, df = 3, p-value = 0.005585 (all expected counts >= 5.16)
    smokers = np.array([83, 90, 129, 70])
    patients = np.array([86, 93, 136, 82])
    r = homogeneity_test([smokers, patients - smokers])
    assert r["test"] == "chi_square"
    assert r["statistic"] == pytest.approx(12.6, abs=0.05)
    assert r["df"] == 3
    assert r["p_value"] == pytest.approx(0.005585, abs=5e-6)


def test_chi_square_by_hand():
    # [[10, 0], [0, 10]]: every expected count is 5; X^2 = 4 * (5^2 / 5) = 20, df = 1
    r = homogeneity_test([[10, 0], [0, 10]])
    assert r["test"] == "chi_square"
    assert r["statistic"] == pytest.approx(20.0)
    assert r["p_value"] == pytest.approx(sst.chi2.sf(20, 1))


def test_fisher_exact_2x2_by_hand():
    # [[3, 0], [0, 3]]: margins 3/3; only the tables with a = 3 or a = 0 are as extreme,
    # each with probability 1 / C(6, 3) = 1/20 -> two-sided p = 0.1
    r = homogeneity_test([[3, 0], [0, 3]])
    assert r["test"] == "fisher_exact"
    assert r["p_value"] == pytest.approx(0.1)


def test_ffh_monte_carlo_by_hand():
    # [[2, 0, 0], [0, 1, 1]]: rows (2, 2), columns (2, 1, 1), N = 4. Top rows with sum 2:
    # (2,0,0) prob C(2,2)C(1,0)C(1,0)/C(4,2) = 1/6; (1,1,0) 2/6; (1,0,1) 2/6; (0,1,1) 1/6.
    # Observed prob 1/6 -> exact p = P(prob <= 1/6) = 2/6.
    r = homogeneity_test([[2, 0, 0], [0, 1, 1]], n_sim=20000)
    assert r["test"] == "fisher_freeman_halton_mc"
    assert r["p_value"] == pytest.approx(1 / 3, abs=0.015)


def test_ffh_monte_carlo_3_columns_by_hand():
    # [[0, 1, 2], [2, 1, 0]]: rows (3, 3), columns (2, 2, 2). Top rows: the 6 arrangements of
    # (2,1,0), each prob 2/20, and (1,1,1), prob 8/20. Observed prob 2/20 -> p = 12/20 = 0.6
    r = homogeneity_test([[0, 1, 2], [2, 1, 0]], n_sim=20000)
    assert r["p_value"] == pytest.approx(0.6, abs=0.02)


def test_homogeneity_drops_empty_and_degenerate():
    r = homogeneity_test([[3, 0, 0], [2, 0, 0]])  # only one column with data
    assert math.isnan(r["p_value"])
    r = homogeneity_test([[10, 0, 10], [0, 0, 10]], method="chi2")
    assert r["df"] == 1  # the empty column is dropped


def test_homogeneity_reproducible():
    t = [[1, 2, 3], [3, 2, 0]]
    assert homogeneity_test(t, seed=1)["p_value"] == homogeneity_test(t, seed=1)["p_value"]


# --- Mean of counts ---------------------------------------------------------------
def test_count_mean_poisson_exact():
    # [2, 3, 4]: mean 3, variance 1, phi = 1/3 <= 1 -> exact Poisson on the total 9.
    # R poisson.test(9)$conf.int = 4.115373 17.084803; divided by 3 sessions:
    r = count_mean_ci([2, 3, 4])
    assert r["ci_method"] == "poisson_exact"
    assert r["estimate"] == 3.0
    assert r["ci_low"] == pytest.approx(4.115373 / 3, abs=1e-5)
    assert r["ci_high"] == pytest.approx(17.084803 / 3, abs=1e-5)
    assert r["dispersion"] == pytest.approx(1 / 3)


def test_count_mean_quasi_poisson_by_hand():
    # [0, 10, 1, 9]: mean 5, variance (25+25+16+16)/3 = 27.333, phi = 5.4667 > 1
    # t(0.975, 3) = 3.182446; half-width on log scale = 3.182446 * sqrt(5.4667/20) = 1.66386
    # interval 5 * exp(-/+ 1.66386) = (0.9471, 26.397)
    r = count_mean_ci([0, 10, 1, 9])
    assert r["ci_method"] == "quasi_poisson"
    assert r["dispersion"] == pytest.approx(82 / 3 / 5)
    assert r["ci_low"] == pytest.approx(0.9471, abs=1e-3)
    assert r["ci_high"] == pytest.approx(26.397, abs=2e-2)


def test_count_mean_edge_cases():
    r = count_mean_ci([])
    assert r["ci_method"] == "none" and math.isnan(r["estimate"])
    # a single session with 0 visits: exact Poisson upper bound -ln(0.025) = 3.6889
    r = count_mean_ci([0])
    assert r["estimate"] == 0 and r["ci_low"] == 0
    assert r["ci_high"] == pytest.approx(-math.log(0.025), abs=1e-4)
    # NA values are dropped
    assert count_mean_ci([1, None, float("nan"), 3])["n"] == 2


def test_poisson_exact_published():
    # exact 95% limits for an observed count of 3 (Garwood 1936; tabulated e.g. in
    # Ulm 1990, Am J Epidemiol 131:373): 0.619 to 8.767
    lo, hi = poisson_exact_ci(3)
    assert lo == pytest.approx(0.619, abs=5e-4)
    assert hi == pytest.approx(8.767, abs=5e-4)


# --- Rate ratio ---------------------------------------------------------------------
def test_rate_ratio_by_definition():
    # 20 events over 10 sessions vs 10 over 10: RR = 2. Conditional on 30 events, X1 ~
    # Binomial(30, p) with p = RR e1 / (RR e1 + e0); the Clopper-Pearson bounds satisfy
    # P(X >= 20 | p_low) = 0.025 and P(X <= 20 | p_high) = 0.025.
    r = rate_ratio_ci(20, 10, 10, 10)
    assert r["rate_ratio"] == 2.0
    p_lo = r["ci_low"] / (r["ci_low"] + 1)
    p_hi = r["ci_high"] / (r["ci_high"] + 1)
    assert sst.binom.sf(19, 30, p_lo) == pytest.approx(0.025, abs=1e-6)
    assert sst.binom.cdf(20, 30, p_hi) == pytest.approx(0.025, abs=1e-6)
    # exact test of RR = 1: binomial test of 20 of 30 with p = 1/2
    assert r["p_value"] == pytest.approx(sst.binomtest(20, 30, 0.5).pvalue)


def test_holm_adjust_by_hand():
    from qsp_eval.stats import holm_adjust

    # sorted: 0.01 (x3 = 0.03), 0.03 (x2 = 0.06), 0.04 (x1 = 0.04 -> max(0.06, 0.04) = 0.06)
    assert holm_adjust([0.01, 0.04, 0.03]).tolist() == pytest.approx([0.03, 0.06, 0.06])
    # capped at 1, NaN left out of m: m = 2, 0.6 x 2 = 1.2 -> 1, 0.7 -> max(1, 0.7) = 1
    out = holm_adjust([0.6, float("nan"), 0.7])
    assert out[0] == 1.0 and np.isnan(out[1]) and out[2] == 1.0


def test_rate_ratio_r_poisson_test_two_sample():
    # R documentation of poisson.test (stats package), comparison of two rates:
    # poisson.test(c(11, 6 + 8 + 7), c(800, 1083 + 1050 + 878))
    # -> p-value = 0.07967; 95 percent CI 0.8584264 4.2772659; rate ratio 1.971488
    r = rate_ratio_ci(11, 800, 6 + 8 + 7, 1083 + 1050 + 878)
    assert r["rate_ratio"] == pytest.approx(1.971488, abs=5e-7)
    assert r["ci_low"] == pytest.approx(0.8584264, abs=5e-7)
    assert r["ci_high"] == pytest.approx(4.2772659, abs=5e-7)
    assert r["p_value"] == pytest.approx(0.07967, abs=5e-6)
    assert r["test"] == "exact_conditional_poisson"


def test_rate_ratio_zero_counts_by_hand():
    # 0 events vs 5 (equal exposure): RR = 0, lower bound 0; conditional on 5 events X1 ~
    # Binomial(5, p): the upper Clopper-Pearson bound solves P(X <= 0) = (1 - p)^5 = 0.025,
    # p = 1 - 0.025^(1/5) = 0.521824, RR = p / (1 - p) = 0.521824 / 0.478176 = 1.091279
    r = rate_ratio_ci(0, 1, 5, 1)
    assert r["rate_ratio"] == 0 and r["ci_low"] == 0
    assert r["ci_high"] == pytest.approx(1.091279, abs=1e-6)
    # no event at all, or no exposure: nothing to estimate
    assert math.isnan(rate_ratio_ci(0, 1, 0, 1)["rate_ratio"])
    assert math.isnan(rate_ratio_ci(3, 0, 2, 1)["ci_low"])
