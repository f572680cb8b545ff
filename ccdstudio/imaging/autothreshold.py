"""Fiji's automatic threshold methods, computed on a 256-bin histogram as ImageJ's ``AutoThresholder`` does.

Each method takes the 256 bin counts and returns the index ``t`` of the last *background* bin for a dark
background: ImageJ then selects bins ``t + 1 .. 255`` (dark background) or ``0 .. t`` (light background).
The methods follow the published algorithms as ported to ImageJ by G. Landini (Auto_Threshold), including
their conventions: Java integer division and truncation where ImageJ has them, first-maximum tie breaking,
``-1`` (no threshold found) reported as 0. Deliberate differences: ImageJ's MinError sums overflow 32-bit
integers on images with more than ~8 million pixels; here they do not. Huang/MaxEntropy sums use NumPy's
pairwise summation, which can flip an exact tie in rare cases.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

_EPS = 2.220446049250313e-16
_JAVA_MIN_DOUBLE = 5e-324  # Double.MIN_VALUE: the tiny positive start value ImageJ uses for maxima


def _first_last(data: np.ndarray) -> tuple[int, int]:
    nonzero = np.flatnonzero(data)
    return int(nonzero[0]), int(nonzero[-1])


def _java_round(x: float) -> int:
    """``Math.round``: halves round up."""
    return math.floor(x + 0.5)


def _bimodal(y: np.ndarray) -> bool:
    """Exactly two strict local maxima."""
    inner = (y[:-2] < y[1:-1]) & (y[2:] < y[1:-1])
    return int(np.count_nonzero(inner)) == 2


def huang(data: np.ndarray) -> int:
    """Huang & Wang (1995) fuzzy thresholding with Shannon's entropy."""
    first, last = _first_last(data)
    if first == last:
        return first
    bins = np.arange(256, dtype=np.float64)
    term = 1.0 / (last - first)
    mu_0 = np.zeros(256)
    counts = np.cumsum(data[first:])
    mu_0[first:] = np.cumsum(bins[first:] * data[first:]) / counts
    mu_1 = np.zeros(256)
    rev = slice(last, 0, -1)  # ih = last .. 1, stored at ih - 1
    mu_1[last - 1::-1] = np.cumsum((bins * data)[rev]) / np.cumsum(data[rev])
    # membership of every bin ih for every candidate threshold it
    below = bins[None, :] <= bins[:, None]
    mu = np.where(below, mu_0[:, None], mu_1[:, None])
    mu_x = 1.0 / (1.0 + term * np.abs(bins[None, :] - mu))
    with np.errstate(divide="ignore", invalid="ignore"):
        ent = -mu_x * np.log(mu_x) - (1.0 - mu_x) * np.log(1.0 - mu_x)
    ent = np.where((mu_x < 1e-06) | (mu_x > 0.999999), 0.0, ent)
    total = (ent * data[None, :]).sum(axis=1)
    return int(np.argmin(total))


def intermodes(data: np.ndarray) -> int:
    """Prewitt & Mendelsohn (1966): smooth until bimodal, threshold midway between the two peaks."""
    first, last = _first_last(data)
    hist = data[first:last + 1].astype(np.float64)
    for _ in range(10001):
        if _bimodal(hist):
            peaks = np.flatnonzero((hist[:-2] < hist[1:-1]) & (hist[2:] < hist[1:-1])) + 1
            return math.floor(peaks.sum() / 2.0) + first
        hist = _smooth3(hist)
    return -1


def _smooth3(hist: np.ndarray) -> np.ndarray:
    """Three-point running mean with zeros outside."""
    padded = np.concatenate(([0.0], hist, [0.0]))
    return (padded[:-2] + padded[1:-1] + padded[2:]) / 3


def isodata(data: np.ndarray) -> int:
    """Ridler & Calvard (1978) intermeans as in NIH Image (note: the bin ``g`` itself is in neither class)."""
    nonzero = np.flatnonzero(data[1:])
    g = int(nonzero[0]) + 2 if nonzero.size else 0
    values = np.arange(256)
    while True:
        totl = int(data[:g].sum())
        l_sum = int((data[:g] * values[:g]).sum())
        toth = float(data[g + 1:].sum())
        h = float((data[g + 1:] * values[g + 1:].astype(np.float64)).sum())
        if totl > 0 and toth > 0:
            l_mean = l_sum // totl  # Java integer division
            if g == _java_round((l_mean + h / toth) / 2.0):
                return g
        g += 1
        if g > 254:
            return -1


def ij_isodata(data: np.ndarray) -> int:
    """ImageJ's original IsoData, ignoring the first and last bins (erased areas)."""
    data = data.astype(np.float64).copy()
    data[0] = 0
    data[255] = 0
    nonzero = np.flatnonzero(data)
    if nonzero.size == 0 or nonzero[0] >= nonzero[-1]:
        return 128
    low, high = int(nonzero[0]), int(nonzero[-1])
    values = np.arange(256, dtype=np.float64)
    weighted = values * data
    moving = low
    while True:
        sum1, sum2 = weighted[low:moving + 1].sum(), data[low:moving + 1].sum()
        sum3, sum4 = weighted[moving + 1:high + 1].sum(), data[moving + 1:high + 1].sum()
        result = (sum1 / sum2 + sum3 / sum4) / 2.0
        moving += 1
        if not ((moving + 1) <= result and moving < high - 1):
            return _java_round(result)


def default(data: np.ndarray) -> int:
    """ImageJ's "Default": IJ_IsoData after clipping a dominant mode to 1.5x the second-highest bin."""
    data2 = data.astype(np.int64).copy()
    mode = int(np.argmax(data2))
    others = np.delete(data2, mode)
    max2 = int(others.max()) if others.size else 0
    if data2[mode] > 2 * max2 and max2 != 0:
        data2[mode] = int(max2 * 1.5)
    return ij_isodata(data2)


def li(data: np.ndarray) -> int:
    """Li & Tam (1998) iterative minimum cross entropy."""
    values = np.arange(256, dtype=np.float64)
    total = float(data.sum())
    new = float((values[1:] * data[1:]).sum()) / total
    cum_n = np.cumsum(data.astype(np.float64))
    cum_s = np.cumsum(values * data)
    for _ in range(1000):
        old = new
        threshold = int(old + 0.5)
        n_back, s_back = cum_n[threshold], cum_s[threshold]
        n_obj, s_obj = total - n_back, cum_s[-1] - s_back
        mean_back = s_back / n_back if n_back else 0.0
        mean_obj = s_obj / n_obj if n_obj else 0.0
        with np.errstate(divide="ignore", invalid="ignore"):
            temp = (mean_back - mean_obj) / (np.log(mean_back) - np.log(mean_obj))
        if math.isnan(temp):
            return threshold
        new = float(math.trunc(temp - 0.5) if temp < -_EPS else math.trunc(temp + 0.5))
        if abs(new - old) <= 0.5:
            return threshold
    return threshold


def _entropy_setup(data: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, int, int]:
    norm = data / float(data.sum())
    p1 = np.cumsum(norm)
    p2 = 1.0 - p1
    first = int(np.flatnonzero(np.abs(p1) >= _EPS)[0])
    candidates = np.flatnonzero(np.abs(p2[first:]) >= _EPS)
    last = first + int(candidates[-1]) if candidates.size else 255
    return norm, p1, p2, first, last


def _shannon_split(data: np.ndarray, norm: np.ndarray, p1: np.ndarray, p2: np.ndarray,
                   first: int, last: int) -> np.ndarray:
    """Total (background + object) Shannon entropy for thresholds ``first .. last``."""
    its = np.arange(first, last + 1)
    below = np.arange(256)[None, :] <= its[:, None]
    with np.errstate(divide="ignore", invalid="ignore"):
        q_back = norm[None, :] / p1[its, None]
        q_obj = norm[None, :] / p2[its, None]
        back = np.where(below & (data > 0), -q_back * np.log(q_back), 0.0).sum(axis=1)
        obj = np.where(~below & (data > 0), -q_obj * np.log(q_obj), 0.0).sum(axis=1)
    return back + obj


def max_entropy(data: np.ndarray) -> int:
    """Kapur, Sahoo & Wong (1985) maximum entropy."""
    norm, p1, p2, first, last = _entropy_setup(data)
    total = _shannon_split(data, norm, p1, p2, first, last)
    return _first_max_above(total, _JAVA_MIN_DOUBLE, first)


def _first_max_above(values: np.ndarray, start: float, offset: int, default_index: int = -1) -> int:
    """Index (plus ``offset``) of the first strict maximum greater than ``start``, else ``default_index``."""
    values = np.where(np.isnan(values), -np.inf, values)
    best = int(np.argmax(values))
    return best + offset if values[best] > start else default_index


def mean(data: np.ndarray) -> int:
    """Glasbey (1993): the mean grey level, rounded down."""
    return math.floor(float((np.arange(256) * data.astype(np.float64)).sum()) / float(data.sum()))


def min_error(data: np.ndarray) -> int:
    """Kittler & Illingworth (1986) minimum error thresholding, iterated from the mean."""
    values = np.arange(256, dtype=np.float64)
    a_cum = np.cumsum(data.astype(np.float64))
    b_cum = np.cumsum(values * data)
    c_cum = np.cumsum(values * values * data)
    a_all, b_all, c_all = a_cum[-1], b_cum[-1], c_cum[-1]
    threshold, previous = mean(data), -2
    for _ in range(10000):
        if threshold == previous:
            break
        t = min(max(threshold, 0), 255)
        a_t, b_t, c_t = a_cum[t], b_cum[t], c_cum[t]
        with np.errstate(divide="ignore", invalid="ignore"):
            mu = b_t / a_t
            nu = (b_all - b_t) / (a_all - a_t)
            p = a_t / a_all
            q = (a_all - a_t) / a_all
            sigma2 = c_t / a_t - mu * mu
            tau2 = (c_all - c_t) / (a_all - a_t) - nu * nu
            w0 = 1.0 / sigma2 - 1.0 / tau2
            w1 = mu / sigma2 - nu / tau2
            w2 = mu * mu / sigma2 - nu * nu / tau2 + np.log10((sigma2 * q * q) / (tau2 * p * p))
            sqterm = w1 * w1 - w0 * w2
            if sqterm < 0:
                return threshold
            temp = (w1 + np.sqrt(sqterm)) / w0
        previous = threshold
        if not np.isnan(temp) and np.isfinite(temp):
            threshold = math.floor(temp)
    return threshold


def minimum(data: np.ndarray) -> int:
    """Prewitt & Mendelsohn (1966): smooth until bimodal, threshold at the minimum between the peaks."""
    hist = data.astype(np.float64)
    for _ in range(10001):
        if _bimodal(hist):
            valley = (hist[:-2] > hist[1:-1]) & (hist[2:] >= hist[1:-1])
            hits = np.flatnonzero(valley)
            return int(hits[0]) + 1 if hits.size else -1
        hist = _smooth3(hist)
    return -1


def moments(data: np.ndarray) -> int:
    """Tsai (1985) moment-preserving thresholding."""
    histo = data / float(data.sum())
    values = np.arange(256, dtype=np.float64)
    m0, m1, m2, m3 = 1.0, (values * histo).sum(), (values ** 2 * histo).sum(), (values ** 3 * histo).sum()
    cd = m0 * m2 - m1 * m1
    c0 = (-m2 * m2 + m1 * m3) / cd
    c1 = (m0 * -m3 + m2 * m1) / cd
    discriminant = c1 * c1 - 4.0 * c0
    if not discriminant >= 0:  # ImageJ gets NaN here and finds no threshold
        return -1
    root = math.sqrt(discriminant)
    z0, z1 = 0.5 * (-c1 - root), 0.5 * (-c1 + root)
    p0 = (z1 - m1) / (z1 - z0)
    hits = np.flatnonzero(np.cumsum(histo) > p0)
    return int(hits[0]) if hits.size else -1


def otsu(data: np.ndarray) -> int:
    """Otsu (1979): maximum between-class variance (Celebi's formulation, first maximum wins)."""
    histo = data / float(data.sum())
    cnh = np.cumsum(histo)
    mean_cum = np.cumsum(np.arange(256) * histo)
    with np.errstate(divide="ignore", invalid="ignore"):
        bcv = (mean_cum[-1] * cnh - mean_cum) ** 2 / (cnh * (1.0 - cnh))
    return _first_max_above(bcv, 0.0, 0)


def percentile(data: np.ndarray, fraction: float = 0.5) -> int:
    """Doyle (1962): the bin where the cumulative fraction is closest to ``fraction`` (50 %)."""
    distance = np.abs(np.cumsum(data.astype(np.float64)) / float(data.sum()) - fraction)
    best = int(np.argmin(distance))
    return best if distance[best] < 1.0 else -1


def renyi_entropy(data: np.ndarray) -> int:
    """Kapur, Sahoo & Wong (1985) with Renyi's entropy of orders 0.5, 1 and 2, combined."""
    norm, p1, p2, first, last = _entropy_setup(data)
    its = np.arange(first, last + 1)
    below = np.arange(256)[None, :] <= its[:, None]
    t_star2 = _first_max_above(_shannon_split(data, norm, p1, p2, first, last), 0.0, first, 0)
    stars = [t_star2]
    for alpha in (0.5, 2.0):
        with np.errstate(divide="ignore", invalid="ignore"):
            if alpha == 0.5:
                back = np.where(below, np.sqrt(norm[None, :] / p1[its, None]), 0.0).sum(axis=1)
                obj = np.where(~below, np.sqrt(norm[None, :] / p2[its, None]), 0.0).sum(axis=1)
            else:
                back = np.where(below, norm[None, :] ** 2 / p1[its, None] ** 2, 0.0).sum(axis=1)
                obj = np.where(~below, norm[None, :] ** 2 / p2[its, None] ** 2, 0.0).sum(axis=1)
            product = back * obj
            total = (1.0 / (1.0 - alpha)) * np.where(product > 0.0, np.log(np.where(product > 0, product, 1)), 0.0)
        stars.append(_first_max_above(total, 0.0, first, 0))
    t_star2, t_star1, t_star3 = stars  # ImageJ's naming: orders 1, 0.5, 2
    t1, t2, t3 = sorted((t_star1, t_star2, t_star3))
    if abs(t1 - t2) <= 5:
        beta = (1, 2, 1) if abs(t2 - t3) <= 5 else (0, 1, 3)
    else:
        beta = (3, 1, 0) if abs(t2 - t3) <= 5 else (1, 2, 1)
    omega = p1[t3] - p1[t1]
    return int(t1 * (p1[t1] + 0.25 * omega * beta[0]) + 0.25 * t2 * omega * beta[1]
               + t3 * (p2[t3] + 0.25 * omega * beta[2]))


def shanbhag(data: np.ndarray) -> int:
    """Shanbhag (1994) information-measure thresholding."""
    norm, p1, p2, first, last = _entropy_setup(data)
    its = np.arange(first, last + 1)
    bins = np.arange(256)
    with np.errstate(divide="ignore", invalid="ignore"):
        term_b = 0.5 / p1[its]
        p1_prev = np.concatenate(([0.0], p1[:-1]))
        back_terms = -norm[None, :] * np.log(1.0 - term_b[:, None] * p1_prev[None, :])
        back = np.where((bins[None, :] >= 1) & (bins[None, :] <= its[:, None]), back_terms, 0.0).sum(axis=1) * term_b
        term_o = 0.5 / p2[its]
        obj_terms = -norm[None, :] * np.log(1.0 - term_o[:, None] * p2[None, :])
        obj = np.where(bins[None, :] > its[:, None], obj_terms, 0.0).sum(axis=1) * term_o
    total = np.abs(back - obj)
    total = np.where(np.isnan(total), np.inf, total)
    best = int(np.argmin(total))
    return best + first if np.isfinite(total[best]) else -1


def triangle(data: np.ndarray) -> int:
    """Zack, Rogers & Latt (1977) triangle method, on the longer side of the peak (ImageJ's variant)."""
    data = data.astype(np.float64)
    nonzero = np.flatnonzero(data)
    low = max(int(nonzero[0]) - 1, 0)
    far = min(int(nonzero[-1]) + 1, 255)
    peak = int(np.argmax(data))
    inverted = (peak - low) < (far - peak)
    if inverted:
        data = data[::-1]
        low, peak = 255 - far, 255 - peak
    if low == peak:
        return low
    nx, ny = data[peak], float(low - peak)
    norm = math.hypot(nx, ny)
    nx, ny = nx / norm, ny / norm
    offset = nx * low + ny * data[low]
    idx = np.arange(low + 1, peak + 1)
    distance = nx * idx + ny * data[idx] - offset
    best = int(np.argmax(distance))
    split = (int(idx[best]) if distance[best] > 0 else low) - 1
    return 255 - split if inverted else split


def yen(data: np.ndarray) -> int:
    """Yen, Chang & Chang (1995) maximum correlation criterion."""
    norm = data / float(data.sum())
    p1 = np.cumsum(norm)
    p1_sq = np.cumsum(norm * norm)
    p2_sq = np.concatenate((np.cumsum((norm * norm)[:0:-1])[::-1], [0.0]))
    with np.errstate(divide="ignore", invalid="ignore"):
        a = p1_sq * p2_sq
        b = p1 * (1.0 - p1)
        crit = -np.where(a > 0, np.log(np.where(a > 0, a, 1)), 0.0) + 2 * np.where(b > 0, np.log(np.where(b > 0, b, 1)), 0.0)
    return _first_max_above(crit, _JAVA_MIN_DOUBLE, 0)


METHODS: dict[str, Callable[[np.ndarray], int]] = {
    "Default": default,
    "Huang": huang,
    "Intermodes": intermodes,
    "IsoData": isodata,
    "IJ_IsoData": ij_isodata,
    "Li": li,
    "MaxEntropy": max_entropy,
    "Mean": mean,
    "MinError": min_error,
    "Minimum": minimum,
    "Moments": moments,
    "Otsu": otsu,
    "Percentile": percentile,
    "RenyiEntropy": renyi_entropy,
    "Shanbhag": shanbhag,
    "Triangle": triangle,
    "Yen": yen,
}
"""Fiji's method names (as in Image > Adjust > Threshold) and their implementations."""


def threshold_index(method: str, histogram: np.ndarray) -> int:
    """ImageJ's ``AutoThresholder.getThreshold``: the last background bin (0 when the method finds none).

    ``histogram`` must hold 256 non-negative counts, at least one of them non-zero.
    """
    data = np.asarray(histogram, dtype=np.int64)
    if data.shape != (256,):
        raise ValueError("the histogram must have 256 bins")
    t = METHODS[method](data)
    return 0 if t == -1 else int(t)
