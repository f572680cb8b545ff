"""The physical parameters of a simulated CCD frame, their random ranges and their FITS header cards.

Charges are in electrons (e-), image values in ADU, lengths in pixels unless a name says ``_um``. Every
field has one short FITS keyword (:data:`FITS_KEYWORDS`) so a written frame records how it was made.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields, replace

import numpy as np

from ccdstudio.errors import CcdstudioError

EV_PER_PAIR = 3.75
"""Mean energy (eV) to make one electron-hole pair in silicon at the operating temperature (~140 K)."""

KINDS = ("point", "muon", "electron", "alpha", "template")
"""Cluster kinds: diffusion-limited point-like deposits, straight muon tracks, curly electron tracks,
alpha blobs and published DAMIC cluster templates."""


@dataclass(frozen=True)
class CCDParams:
    """Everything that shapes a simulated frame.

    Densities are expected counts per megapixel (Poisson-drawn per frame). Glow and dark current are
    expected electrons per pixel per frame (Poisson-sampled). Label thresholds are in units of the
    effective read noise ``read_noise / sqrt(n_samples)``: the charge a hot defect trails through transfer
    inefficiency is hot_pixel where it reaches ``hot_trail_sigma`` (as faint as the faintest hot lines drawn;
    0: background, as in the frames ``ccd-unet-v1`` was trained on).
    """

    # readout chain
    pedestal: float = 1000.0
    pedestal_row_drift: float = 2.0
    pedestal_col_drift: float = 0.5
    read_noise: float = 8.0
    n_samples: int = 1
    gain: float = 2.0
    saturation: float = 65535.0
    amplifiers: int = 1
    amp_variation: float = 0.03
    overscan: int = 0
    overscan_rows: int = 0
    cti_serial: float = 0.0
    cti_parallel: float = 0.0
    # dark charge
    dark_current: float = 0.05
    glow_peak: float = 30.0
    glow_length: float = 120.0
    glow_band: float = 0.0
    glow_band_width: int = 0
    # defects
    hot_pixel_density: float = 20.0
    hot_pixel_charge: float = 200.0
    hot_columns: int = 2
    hot_rows: int = 0
    hot_line_charge: float = 20.0
    # clusters
    point_density: float = 40.0
    muon_density: float = 2.0
    electron_density: float = 8.0
    alpha_density: float = 0.1
    template_density: float = 5.0
    point_kev_min: float = 0.1
    point_kev_max: float = 20.0
    electron_kev_min: float = 20.0
    electron_kev_max: float = 1000.0
    alpha_kev_min: float = 3000.0
    alpha_kev_max: float = 8000.0
    muon_pairs_per_um: float = 80.0
    alpha_spread: float = 4.0
    # silicon and diffusion: sigma^2 = -A ln(1 - b z) (DAMIC's model), z the depth from the gates
    thickness_um: float = 675.0
    pixel_um: float = 15.0
    diffusion_a_um2: float = 216.0
    diffusion_b_per_um: float = 8.86e-4
    # truth labels
    cluster_sigma: float = 2.0
    glow_sigma: float = 3.0
    hot_trail_sigma: float = 1.0

    def __post_init__(self) -> None:
        problems = []
        if self.amplifiers not in (1, 2, 4):
            problems.append(f"amplifiers must be 1, 2 or 4, not {self.amplifiers}")
        if self.n_samples < 1:
            problems.append("n_samples must be at least 1")
        for name in ("read_noise", "gain", "thickness_um", "pixel_um", "glow_length"):
            if not getattr(self, name) > 0:
                problems.append(f"{name} must be positive")
        for f in fields(self):
            value = getattr(self, f.name)
            if not math.isfinite(value):
                problems.append(f"{f.name} must be finite")
            elif value < 0 and f.name not in ("pedestal",):
                problems.append(f"{f.name} must not be negative")
        if not 0 <= self.cti_serial < 1 or not 0 <= self.cti_parallel < 1:
            problems.append("charge-transfer inefficiencies must lie in [0, 1)")
        if self.diffusion_b_per_um * self.thickness_um >= 1:
            problems.append("diffusion_b_per_um * thickness_um must stay below 1")
        if problems:
            raise CcdstudioError("bad CCD parameters: " + "; ".join(problems))

    @property
    def sigma(self) -> float:
        """The effective read noise in ADU: one sample's noise over the square root of the samples."""
        return self.read_noise / math.sqrt(self.n_samples)

    def replace(self, **changes: float) -> CCDParams:
        """A copy with some fields changed."""
        return replace(self, **changes)

    def to_dict(self) -> dict[str, float]:
        return asdict(self)

    @classmethod
    def random(cls, rng: np.random.Generator, noise: tuple[float, float] = (2.0, 30.0),
               amplifiers: int = 1, **fixed: float) -> CCDParams:
        """Parameters drawn from ranges wide enough to cover real detectors (DAMIC, SENSEI, astronomy CCDs).

        ``noise`` bounds the single-sample read noise in ADU; one frame in four is a skipper readout with
        4 to 256 samples. Defect and glow charges scale with the noise so they range from barely visible to
        glaring. ``fixed`` fields are kept as given.
        """
        if not 0 < noise[0] <= noise[1]:
            raise CcdstudioError(f"the read-noise range must be positive and ordered, got {noise}")
        read_noise = float(np.exp(rng.uniform(np.log(noise[0]), np.log(noise[1]))))
        n_samples = int(rng.choice([4, 16, 64, 256])) if rng.random() < 0.25 else 1
        gain = float(np.exp(rng.uniform(np.log(0.5), np.log(10.0))))
        sigma_e = read_noise / math.sqrt(n_samples) / gain
        band = rng.random() < 0.5

        def log_uniform(low: float, high: float) -> float:
            return float(np.exp(rng.uniform(np.log(low), np.log(high))))

        drawn = dict(
            pedestal=float(rng.uniform(300.0, 30000.0)),
            pedestal_row_drift=float(rng.uniform(0.0, 3.0) * read_noise),
            pedestal_col_drift=float(rng.uniform(0.0, 1.0) * read_noise),
            read_noise=read_noise,
            n_samples=n_samples,
            gain=gain,
            amplifiers=amplifiers,
            overscan=64 if amplifiers > 1 else 0,
            amp_variation=float(rng.uniform(0.0, 0.08)),
            cti_serial=log_uniform(1e-7, 1e-4) if rng.random() < 0.3 else 0.0,
            cti_parallel=log_uniform(1e-7, 1e-4) if rng.random() < 0.3 else 0.0,
            dark_current=log_uniform(1e-3, 2.0),
            glow_peak=log_uniform(1.0, 300.0) * sigma_e,
            glow_length=log_uniform(20.0, 600.0),
            glow_band=log_uniform(1.0, 20.0) * sigma_e if band else 0.0,
            glow_band_width=int(rng.integers(5, 150)) if band else 0,
            hot_pixel_density=log_uniform(1.0, 200.0),
            hot_pixel_charge=log_uniform(5.0, 500.0) * sigma_e,
            hot_columns=int(rng.integers(0, 8)),
            hot_rows=int(rng.integers(0, 3)),
            hot_line_charge=log_uniform(1.0, 50.0) * sigma_e,
            point_density=log_uniform(5.0, 300.0),
            muon_density=log_uniform(0.3, 10.0),
            electron_density=log_uniform(1.0, 50.0),
            alpha_density=log_uniform(0.01, 0.5) if rng.random() < 0.5 else 0.0,
            template_density=log_uniform(1.0, 30.0),
            alpha_spread=float(rng.uniform(2.0, 8.0)),
            thickness_um=float(rng.choice([200.0, 250.0, 500.0, 675.0, 1000.0])),
        )
        drawn.update(fixed)
        return cls(**drawn)


FITS_KEYWORDS: dict[str, tuple[str, str]] = {
    "pedestal": ("PEDESTAL", "[ADU] baseline level"),
    "pedestal_row_drift": ("PEDRDRFT", "[ADU] pedestal drift along rows"),
    "pedestal_col_drift": ("PEDCDRFT", "[ADU] pedestal drift along columns"),
    "read_noise": ("RDNOISE1", "[ADU] read noise of one sample"),
    "n_samples": ("NSAMP", "skipper samples averaged per pixel"),
    "gain": ("GAIN", "[ADU/e-] conversion gain"),
    "saturation": ("SATURATE", "[ADU] ADC saturation level"),
    "amplifiers": ("NAMPS", "number of readout amplifiers"),
    "amp_variation": ("AMPVAR", "spread of amplifier gain, noise, pedestal"),
    "overscan": ("NOVERSC", "[pix] serial overscan columns per amplifier"),
    "overscan_rows": ("NOVERSCR", "[pix] parallel overscan rows per amplifier"),
    "cti_serial": ("CTISER", "serial CTI, charge lost per transfer"),
    "cti_parallel": ("CTIPAR", "parallel CTI, charge lost per transfer"),
    "dark_current": ("DARKCUR", "[e-/pix] dark charge per frame"),
    "glow_peak": ("GLOWPEAK", "[e-/pix] amplifier glow at the amplifier"),
    "glow_length": ("GLOWLEN", "[pix] decay length of amplifier glow"),
    "glow_band": ("GLOWBAND", "[e-/pix] flat glow band next to the amplifier"),
    "glow_band_width": ("GLOWBW", "[pix] width of the flat glow band"),
    "hot_pixel_density": ("HOTPXDEN", "[1/Mpix] hot pixel density"),
    "hot_pixel_charge": ("HOTPXQ", "[e-] median hot pixel charge"),
    "hot_columns": ("HOTCOLS", "number of hot column segments"),
    "hot_rows": ("HOTROWS", "number of hot row segments"),
    "hot_line_charge": ("HOTLINEQ", "[e-/pix] median hot column/row charge"),
    "point_density": ("PNTDEN", "[1/Mpix] point-like deposits"),
    "muon_density": ("MUONDEN", "[1/Mpix] muon tracks"),
    "electron_density": ("ELECDEN", "[1/Mpix] electron tracks"),
    "alpha_density": ("ALPHADEN", "[1/Mpix] alpha blobs"),
    "template_density": ("TMPLDEN", "[1/Mpix] DAMIC cluster templates"),
    "point_kev_min": ("PNTEMIN", "[keV] point deposit energy, lowest"),
    "point_kev_max": ("PNTEMAX", "[keV] point deposit energy, highest"),
    "electron_kev_min": ("ELECEMIN", "[keV] electron energy, lowest"),
    "electron_kev_max": ("ELECEMAX", "[keV] electron energy, highest"),
    "alpha_kev_min": ("ALPHEMIN", "[keV] alpha energy, lowest"),
    "alpha_kev_max": ("ALPHEMAX", "[keV] alpha energy, highest"),
    "muon_pairs_per_um": ("MUONDQDX", "[e-/um] most probable muon ionisation"),
    "alpha_spread": ("ALPHSPRD", "[pix] alpha cloud spread (plasma effect)"),
    "thickness_um": ("THICKNES", "[um] depleted silicon thickness"),
    "pixel_um": ("PIXSIZE", "[um] pixel pitch"),
    "diffusion_a_um2": ("DIFFA", "[um2] diffusion A in sigma^2=-A ln(1-b z)"),
    "diffusion_b_per_um": ("DIFFB", "[1/um] diffusion b in sigma^2=-A ln(1-b z)"),
    "cluster_sigma": ("CLUSTSIG", "truth: cluster where charge >= this x noise"),
    "glow_sigma": ("GLOWSIG", "truth: glowing where glow >= this x noise"),
    "hot_trail_sigma": ("HOTTRSIG", "truth: hot where defect trail >= this x noise"),
}


def header_cards(params: CCDParams) -> list[tuple[str, float | int, str]]:
    """``(keyword, value, comment)`` for every parameter, plus the effective noise ``RDNOISE``."""
    cards = [(key, getattr(params, name), comment) for name, (key, comment) in FITS_KEYWORDS.items()]
    cards.append(("RDNOISE", params.sigma, "[ADU] effective noise, RDNOISE1/sqrt(NSAMP)"))
    return cards


def params_from_header(header: object) -> CCDParams:
    """The parameters recorded by :func:`header_cards` (missing cards keep their defaults, except that a frame
    without ``HOTTRSIG`` was written before hot defects' trails were labelled: ``hot_trail_sigma`` 0)."""
    values: dict[str, float] = {"hot_trail_sigma": 0.0}
    for f in fields(CCDParams):
        key = FITS_KEYWORDS[f.name][0]
        if key in header:  # type: ignore[operator]
            kind = int if f.type in ("int", int) else float
            values[f.name] = kind(header[key])  # type: ignore[index]
    return CCDParams(**values)
