"""Charge deposits of particles in a thick, fully depleted CCD: point-like hits, muons, electrons, alphas
and the published DAMIC cluster templates.

Each deposit is a small patch of collected electrons placed at ``(y0, x0)``. Ionisation is followed as a
chain of charge points with a depth ``z`` (µm from the gates); each point's charge diffuses sideways with
DAMIC's model ``sigma^2 = -A ln(1 - b z)``, so hits deep in the bulk are wide and a muon track widens
from one end to the other. Pixel ``i`` covers ``[i - 0.5, i + 0.5)`` in these coordinates.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy.special import ndtr

from ccdstudio.errors import FormatError
from ccdstudio.paths import resource
from ccdstudio.simulate.params import EV_PER_PAIR, KINDS, CCDParams

TEMPLATE_FILE = ("simulate", "damic_cluster_templates.npz")
TEMPLATE_ADU_PER_UNIT = 200.0
"""The template project multiplied its stored values by 200 to get ADU above the pedestal."""

_CHUNK = 128
"""Charge points rendered together in one matrix product; keeps each product's patch small."""


@dataclass
class Deposit:
    """Electrons collected by a particle: ``charge[i]`` electrons in pixel ``(rows[i], cols[i])``.

    Pixels are unique and lie inside the frame the deposit was made for; long tracks stay cheap because
    only the pixels they touch are stored.
    """

    kind: str
    rows: np.ndarray
    cols: np.ndarray
    charge: np.ndarray
    energy_kev: float = float("nan")

    @property
    def electrons(self) -> float:
        return float(self.charge.sum())

    @classmethod
    def from_patch(cls, kind: str, y0: int, x0: int, patch: np.ndarray, shape: tuple[int, int],
                   energy_kev: float = float("nan")) -> Deposit:
        """The non-zero pixels of ``patch`` placed with its first pixel at ``(y0, x0)``, cut to ``shape``."""
        rows, cols = np.nonzero(patch)
        charge = patch[rows, cols].astype(np.float32)
        rows, cols = rows + y0, cols + x0
        inside = (rows >= 0) & (rows < shape[0]) & (cols >= 0) & (cols < shape[1])
        return cls(kind, rows[inside].astype(np.int32), cols[inside].astype(np.int32), charge[inside], energy_kev)


def diffusion_sigma(depth_um: np.ndarray, params: CCDParams) -> np.ndarray:
    """Lateral spread (pixels) of charge freed at ``depth_um`` from the gates."""
    z = np.clip(depth_um, 0.0, params.thickness_um)
    variance = -params.diffusion_a_um2 * np.log1p(-params.diffusion_b_per_um * z)
    return np.sqrt(variance) / params.pixel_um


def render_points(y: np.ndarray, x: np.ndarray, sigma: np.ndarray, electrons: np.ndarray, kind: str,
                  rng: np.random.Generator, shape: tuple[int, int], energy_kev: float = float("nan")) -> Deposit:
    """Collect Gaussian charge clouds into the pixels of a ``shape`` frame and draw electron counts.

    Each cloud's share of a pixel is the product of two erf differences, so a chunk of clouds is the
    matrix product ``Gy^T diag(q) Gx`` over the chunk's box. Chunks are drawn (Poisson) separately: a sum
    of independent Poisson counts is the Poisson count of the sum. Charge falling off the frame is lost.
    """
    sigma = np.maximum(np.asarray(sigma, np.float64), 1e-3)
    reach = 4.0 * sigma + 1.0
    near = (y + reach > -0.5) & (y - reach < shape[0] - 0.5) & (x + reach > -0.5) & (x - reach < shape[1] - 0.5)
    y, x, sigma, electrons, reach = y[near], x[near], sigma[near], np.asarray(electrons)[near], reach[near]
    rows, cols, values = [], [], []
    for start in range(0, len(y), _CHUNK):
        part = slice(start, start + _CHUNK)
        y0 = max(int(math.floor((y[part] - reach[part]).min() + 0.5)), 0)
        x0 = max(int(math.floor((x[part] - reach[part]).min() + 0.5)), 0)
        y1 = min(int(math.floor((y[part] + reach[part]).max() + 0.5)) + 1, shape[0])
        x1 = min(int(math.floor((x[part] + reach[part]).max() + 0.5)) + 1, shape[1])
        gy = _pixel_shares(y[part], sigma[part], y0, y1)
        gx = _pixel_shares(x[part], sigma[part], x0, x1)
        counts = rng.poisson((gy * electrons[part, None]).T @ gx)
        r, c = np.nonzero(counts)
        rows.append(r + y0)
        cols.append(c + x0)
        values.append(counts[r, c])
    if not rows:
        return Deposit(kind, np.zeros(0, np.int32), np.zeros(0, np.int32), np.zeros(0, np.float32), energy_kev)
    key = np.concatenate(rows).astype(np.int64) * shape[1] + np.concatenate(cols)
    unique, inverse = np.unique(key, return_inverse=True)
    charge = np.bincount(inverse, weights=np.concatenate(values)).astype(np.float32)
    return Deposit(kind, (unique // shape[1]).astype(np.int32), (unique % shape[1]).astype(np.int32), charge,
                   energy_kev)


def _pixel_shares(centre: np.ndarray, sigma: np.ndarray, first: int, stop: int) -> np.ndarray:
    """``(n_points, stop - first)``: the share of each cloud falling in each pixel along one axis."""
    edges = np.arange(first, stop + 1, dtype=np.float64) - 0.5
    cdf = ndtr((edges[None, :] - centre[:, None]) / sigma[:, None])
    return np.diff(cdf, axis=1)


def _pairs(kev: np.ndarray | float) -> np.ndarray | float:
    return np.asarray(kev) * 1000.0 / EV_PER_PAIR


def _log_uniform(rng: np.random.Generator, low: float, high: float) -> float:
    return float(np.exp(rng.uniform(np.log(low), np.log(max(high, low)))))


def point(rng: np.random.Generator, params: CCDParams, shape: tuple[int, int], y: float, x: float) -> Deposit:
    """A point-like deposit (low-energy electron or nuclear recoil) at a random depth."""
    kev = _log_uniform(rng, params.point_kev_min, params.point_kev_max)
    depth = np.array([rng.uniform(0.0, params.thickness_um)])
    return render_points(np.array([y]), np.array([x]), diffusion_sigma(depth, params),
                         np.array([_pairs(kev)]), "point", rng, shape, kev)


def muon(rng: np.random.Generator, params: CCDParams, shape: tuple[int, int], y: float, x: float) -> Deposit:
    """A straight minimum-ionising track through the whole thickness, centred on ``(y, x)``.

    Zenith angles follow the cos^2 flux on a flat detector (pdf ~ cos^3 sin); the ionisation per step has
    Landau-like (Moyal) fluctuations. Grazing tracks are cut at twice the frame size.
    """
    cos_theta = max(rng.random() ** 0.25, 1e-3)
    length = params.thickness_um * math.sqrt(1 - cos_theta**2) / cos_theta / params.pixel_um
    length = min(length, 2.0 * max(shape))
    phi = rng.uniform(0.0, 2 * math.pi)
    path_um = math.hypot(length * params.pixel_um, params.thickness_um)
    n = max(int(math.ceil(length / 0.25)), int(math.ceil(params.thickness_um / (params.pixel_um / 2))), 2)
    t = (np.arange(n) + 0.5) / n
    depth = (t if rng.random() < 0.5 else 1 - t) * params.thickness_um
    moyal = -np.log(np.maximum(rng.standard_normal(n) ** 2, 1e-12))
    electrons = params.muon_pairs_per_um * path_um / n * np.clip(1 + 0.15 * moyal, 0.3, 15.0)
    ys = y + (t - 0.5) * length * math.sin(phi)
    xs = x + (t - 0.5) * length * math.cos(phi)
    kev = float(electrons.sum()) * EV_PER_PAIR / 1000.0
    return render_points(ys, xs, diffusion_sigma(depth, params), electrons, "muon", rng, shape, kev)


def electron_range_um(kev: float) -> float:
    """CSDA-like range of an electron in silicon (Katz-Penfold fit, 10 keV to 2.5 MeV)."""
    mev = kev / 1000.0
    grams_per_cm2 = 0.412 * mev ** (1.265 - 0.0954 * math.log(mev))
    return grams_per_cm2 / 2.33 * 1e4


def electron(rng: np.random.Generator, params: CCDParams, shape: tuple[int, int], y: float, x: float) -> Deposit:
    """A curly electron track: multiple scattering grows as the electron slows, ionisation peaks at the end.

    The track stops early if it leaves the silicon through either surface.
    """
    kev = _log_uniform(rng, params.electron_kev_min, params.electron_kev_max)
    total = electron_range_um(kev)
    step = min(3.0, total / 10.0)
    n = max(int(total / step), 1)
    direction = rng.standard_normal(3)
    direction /= np.linalg.norm(direction)
    kicks = rng.standard_normal((n, 3))
    position = np.array([y * params.pixel_um, x * params.pixel_um, rng.uniform(0.0, params.thickness_um)])
    points = [position]
    for k in range(1, n):
        remaining = total - k * step
        angle = 1.2 * math.sqrt(step / max(remaining, step))
        kick = kicks[k] - kicks[k].dot(direction) * direction
        direction = direction + angle * kick
        direction /= np.linalg.norm(direction)
        position = position + step * direction
        if not 0.0 <= position[2] <= params.thickness_um:
            break  # the electron left the silicon
        points.append(position)
    path = np.array(points)
    # Energy left after travelling s along a range R with R ~ E^1.7: E(s) = E0 (1 - s/R)^(1/1.7).
    s = np.arange(n + 1) * step
    energy_left = kev * np.clip(1 - s / (n * step), 0, 1) ** (1 / 1.7)
    deposited = -np.diff(energy_left)[: len(path)]
    return render_points(path[:, 0] / params.pixel_um, path[:, 1] / params.pixel_um,
                         diffusion_sigma(path[:, 2], params), _pairs(deposited), "electron", rng, shape,
                         float(deposited.sum()))


def alpha(rng: np.random.Generator, params: CCDParams, shape: tuple[int, int], y: float, x: float) -> Deposit:
    """A large round blob: an alpha's short track whose dense charge spreads by the plasma effect."""
    kev = rng.uniform(params.alpha_kev_min, params.alpha_kev_max)
    track_px = 2.0 * rng.random()
    phi = rng.uniform(0.0, 2 * math.pi)
    t = np.linspace(0.0, 1.0, 8)
    weights = 1.0 + 3.0 * t**4  # the Bragg peak at the end of the track
    electrons = _pairs(kev) * weights / weights.sum()
    spread = params.alpha_spread * rng.uniform(0.7, 1.3)
    surface = params.thickness_um if rng.random() < 0.5 else 0.0
    sigma = np.hypot(spread, diffusion_sigma(np.full(8, surface), params))
    ys = y + t * track_px * math.sin(phi)
    xs = x + t * track_px * math.cos(phi)
    return render_points(ys, xs, sigma, electrons, "alpha", rng, shape, kev)


@functools.lru_cache(maxsize=1)
def load_templates() -> tuple[np.ndarray, ...]:
    """The DAMIC cluster templates shipped in ``resources/simulate`` (units as published)."""
    path = resource(*TEMPLATE_FILE)
    try:
        with np.load(path, allow_pickle=False) as data:
            shapes, offsets, values = data["shapes"], data["offsets"], data["values"]
            templates = tuple(values[offsets[k]:offsets[k + 1]].reshape(shapes[k]) for k in range(len(shapes)))
    except (OSError, KeyError, ValueError) as error:
        raise FormatError(f"cannot read the cluster templates {path}: {error}") from None
    if not templates:
        raise FormatError(f"no cluster templates in {path}")
    return templates


def template(rng: np.random.Generator, params: CCDParams, shape: tuple[int, int], y: float, x: float) -> Deposit:
    """A measured DAMIC cluster, randomly rotated and mirrored, centred on ``(y, x)``.

    The templates are already collected charge (noise removed), so they are not Poisson-drawn again.
    """
    templates = load_templates()
    patch = templates[int(rng.integers(len(templates)))]
    patch = np.rot90(patch, int(rng.integers(4)))
    if rng.random() < 0.5:
        patch = patch[:, ::-1]
    electrons = patch * (TEMPLATE_ADU_PER_UNIT / params.gain)
    y0 = int(round(y)) - patch.shape[0] // 2
    x0 = int(round(x)) - patch.shape[1] // 2
    kev = float(electrons.sum()) * EV_PER_PAIR / 1000.0
    return Deposit.from_patch("template", y0, x0, electrons, shape, kev)


MAKERS: dict[str, Callable[..., Deposit]] = {
    "point": point, "muon": muon, "electron": electron, "alpha": alpha, "template": template,
}
"""Each kind's maker: ``maker(rng, params, shape, y, x) -> Deposit``."""


def random_deposits(rng: np.random.Generator, params: CCDParams, shape: tuple[int, int]) -> list[Deposit]:
    """Poisson-drawn numbers of each kind at uniformly random places of a ``shape`` frame."""
    megapixels = shape[0] * shape[1] / 1e6
    deposits = []
    for kind in KINDS:
        for _ in range(rng.poisson(getattr(params, f"{kind}_density") * megapixels)):
            y, x = rng.uniform(-0.5, shape[0] - 0.5), rng.uniform(-0.5, shape[1] - 0.5)
            deposit = MAKERS[kind](rng, params, shape, y, x)
            if deposit.charge.size:
                deposits.append(deposit)
    return deposits
