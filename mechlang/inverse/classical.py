"""Classical voltammetric analyses: the hand methods that fitting a simulator replaces.

Each function takes measured numbers in SI units (V, A, V/s, m^2, mol/m^3, m^2/s, K) and
returns a plain ``dict`` of SI numbers, so that its results can be set beside a fit of a
``.mech`` model:

- :func:`find_peaks`: cathodic and anodic peaks of a voltammogram;
- :func:`randles_sevcik`: the diffusion coefficient from peak currents versus scan rate;
- :func:`nicholson_psi` and :func:`nicholson_k0`: the standard rate constant from the peak
  separation (Nicholson's working curve and its empirical extensions);
- :func:`tafel`: transfer coefficient and exchange current from a Tafel region;
- :func:`load_cv`: an ``E,I`` CSV file.

All of them assume one couple ``O + n e- <=> R`` at a planar electrode under
semi-infinite linear diffusion, with no uncompensated resistance, no capacitive current
and no coupled chemistry. The tests show how far each method drifts when its
assumptions are not met. Only NumPy is needed.
"""

from __future__ import annotations

import math

import numpy as np

from mechlang.constants import F, R
from mechlang.errors import DataError, Span, error

__all__ = [
    "find_peaks",
    "randles_sevcik",
    "nicholson_psi",
    "nicholson_k0",
    "tafel",
    "load_cv",
    "first_sweep",
    "RANDLES_SEVCIK",
    "IRREVERSIBLE_PEAK",
    "NICHOLSON_TABLE",
]

T25 = 298.15

#: Peak-current constant of a reversible wave, pi^1/2 chi_max (Nicholson & Shain 1964).
RANDLES_SEVCIK = 0.4463
#: Peak-current constant of a totally irreversible wave, pi^1/2 chi_max (Nicholson & Shain 1964).
IRREVERSIBLE_PEAK = 0.4958

#: Nicholson, Anal. Chem. 37 (1965) 1351, Table I (alpha = 0.5, 25 degC):
#: psi and n*Delta Ep in mV.
NICHOLSON_TABLE = (
    (20.0, 61.0),
    (7.0, 63.0),
    (6.0, 64.0),
    (5.0, 65.0),
    (4.0, 66.0),
    (3.0, 68.0),
    (2.0, 72.0),
    (1.0, 84.0),
    (0.75, 92.0),
    (0.5, 105.0),
    (0.35, 121.0),
    (0.25, 141.0),
    (0.1, 212.0),
)
_TABLE_X = np.array([x for _, x in NICHOLSON_TABLE])
_TABLE_LNPSI = np.log([p for p, _ in NICHOLSON_TABLE])
_X_MIN, _X_MAX = float(_TABLE_X[0]), float(_TABLE_X[-1])

NICHOLSON_METHODS = ("auto", "table", "lavagnini", "klingler-kochi")


def _bad(message: str, *notes: str) -> DataError:
    return DataError(error(message, None, *notes))


def _vector(x, name: str) -> np.ndarray:
    try:
        a = np.asarray(x, dtype=float).ravel()
    except (TypeError, ValueError):
        raise _bad(f"{name}: expected numbers") from None
    if not np.all(np.isfinite(a)):
        raise _bad(f"{name}: every value must be a finite number")
    return a


def _positive(x, name: str) -> float:
    try:
        value = float(x)
    except (TypeError, ValueError):
        raise _bad(f"{name} = {x!r}: expected a number") from None
    if not (math.isfinite(value) and value > 0):
        raise _bad(f"{name} = {x!r}: must be positive and finite")
    return value


# -- peaks -------------------------------------------------------------------------------


def _vertex(x: np.ndarray, y: np.ndarray, k: int) -> tuple[float, float]:
    """Vertex of the parabola through the points k-1, k, k+1 (the point itself if it has
    no two neighbours, the abscissae are not monotonic, or the vertex falls outside them)."""
    if not 0 < k < len(y) - 1:
        return float(x[k]), float(y[k])
    x0, x1, x2 = x[k - 1 : k + 2]
    y0, y1, y2 = y[k - 1 : k + 2]
    h0, h2 = x0 - x1, x2 - x1
    if not h0 * h2 < 0:  # a turning point of the sweep, or repeated potentials
        return float(x1), float(y1)
    d0, d2 = (y0 - y1) / h0, (y2 - y1) / h2
    a = (d2 - d0) / (h2 - h0)  # y = y1 + b (x - x1) + a (x - x1)^2
    b = d0 - a * h0
    if a == 0:
        return float(x1), float(y1)
    dx = -b / (2 * a)
    if not min(h0, h2) <= dx <= max(h0, h2):
        return float(x1), float(y1)
    return float(x1 + dx), float(y1 + b * dx / 2)


def find_peaks(E, I) -> dict:  # noqa: E741
    """Cathodic and anodic peaks of a cyclic (or linear) sweep voltammogram.

    The cathodic peak is the most negative current, the anodic peak the most positive
    (IUPAC sign: anodic current positive); each is refined by the vertex of the parabola
    through the sampled point and its two neighbours. The currents are read from zero:
    no baseline is subtracted, so a reverse-sweep peak includes the decaying current of
    the forward wave (Nicholson, Anal. Chem. 38 (1966) 1406 gives the usual
    correction) -- use the forward peak for Randles--Ševčík analysis. Several cycles are
    searched as one record.

    Arguments:
        E: potentials, V.
        I: currents, A (anodic positive), same length as ``E``.

    Returns:
        ``{"Epc", "Ipc", "Epa", "Ipa"}`` in V and A. A peak is NaN when it is missing:
        when the extreme current lies at the first or last sample (no maximum inside the
        record, as for the anodic side of a reduction LSV) or has the wrong sign.

    Raises:
        DataError: fewer than three samples, lengths differ, or non-finite values.
    """
    E, I = _vector(E, "E"), _vector(I, "I")  # noqa: E741
    if E.shape != I.shape:
        raise _bad(f"E and I differ in length ({E.size} and {I.size})")
    if E.size < 3:
        raise _bad(f"a voltammogram needs at least 3 points, got {E.size}")
    out = {}
    for key, k, sign in (("c", int(np.argmin(I)), -1.0), ("a", int(np.argmax(I)), 1.0)):
        if 0 < k < I.size - 1 and sign * I[k] > 0:
            Ep, Ip = _vertex(E, I, k)
        else:
            Ep, Ip = math.nan, math.nan
        out["Ep" + key], out["Ip" + key] = Ep, Ip
    return {"Epc": out["Epc"], "Ipc": out["Ipc"], "Epa": out["Epa"], "Ipa": out["Ipa"]}


def first_sweep(E) -> slice:
    """The samples of the first monotonic segment of a sweep (up to its first vertex).

    Arguments:
        E: potentials, V.

    Returns:
        A ``slice`` of the indices of the first sweep.
    """
    E = np.asarray(E, dtype=float)
    dE = np.diff(E)
    moving = np.flatnonzero(dE != 0)
    if moving.size == 0:
        return slice(0, E.size)
    direction = np.sign(dE[moving[0]])
    turns = np.flatnonzero(np.sign(dE) == -direction)
    return slice(0, int(turns[0]) + 1 if turns.size else E.size)


# -- Randles--Ševčík ---------------------------------------------------------------------


def _linear_fit(x: np.ndarray, y: np.ndarray, through_origin: bool) -> dict:
    """Least squares y = a x (+ b); standard errors from the residual variance."""
    N = x.size
    if through_origin:
        a = float(x @ y / (x @ x))
        b = 0.0
        resid = y - a * x
        dof = N - 1
        s2 = resid @ resid / dof if dof > 0 else math.nan
        a_err = math.sqrt(s2 / (x @ x)) if dof > 0 else math.nan
        b_err = math.nan
    else:
        A = np.column_stack([x, np.ones_like(x)])
        (a, b), *_ = np.linalg.lstsq(A, y, rcond=None)
        a, b = float(a), float(b)
        resid = y - a * x - b
        dof = N - 2
        if dof > 0:
            cov = resid @ resid / dof * np.linalg.inv(A.T @ A)
            a_err, b_err = math.sqrt(cov[0, 0]), math.sqrt(cov[1, 1])
        else:
            a_err = b_err = math.nan
    ss_tot = float(((y - y.mean()) ** 2).sum())
    r2 = 1.0 - float(resid @ resid) / ss_tot if ss_tot > 0 else math.nan
    return {"slope": a, "slope_stderr": a_err, "intercept": b, "intercept_stderr": b_err, "r2": r2}


def randles_sevcik(scan_rates, peak_currents, n: int = 1, *, area: float, c: float, T: float = T25,
                   reversible: bool = True, alpha: float | None = None, n_alpha: int | None = None,
                   through_origin: bool = True) -> dict:
    """Diffusion coefficient from peak currents versus scan rate (Randles--Ševčík).

    The peak current of a diffusion-controlled wave grows as the square root of the scan
    rate, |ip| = a sqrt(v) (Randles, Trans. Faraday Soc. 44 (1948) 327; Ševčík, Collect.
    Czech. Chem. Commun. 13 (1948) 349), with the constants of Nicholson and Shain
    (Anal. Chem. 36 (1964) 706)

    - a reversible (Nernstian) wave: a = 0.4463 n F A c sqrt(n F D / (R T));
    - a totally irreversible wave: a = 0.4958 n F A c sqrt(alpha n_alpha F D / (R T)),

    so D = (a / (0.4463 n F A c sqrt(n F/(R T))))^2, or the irreversible analogue.
    |ip| is fitted against sqrt(v) by least squares twice: through the origin (what the
    theory says) and with a free intercept (a non-zero intercept points to a baseline,
    capacitive current, or a wave that is not purely diffusion-controlled).
    A quasi-reversible wave lies between the two limits: its peak current is lower than
    the reversible one, the more so the faster the scan, and D comes out low with a
    positive intercept (on CVs simulated with k0 = 5e-3 cm/s, D = 1e-5 cm^2/s at
    0.02-2 V/s: 0.68 D). The reversible equation read on a totally irreversible wave
    gives 0.4958^2 alpha / 0.4463^2 = 0.62 D at alpha = 0.5. r2 is computed about the
    mean for both fits.

    Arguments:
        scan_rates: scan rates, V/s (positive).
        peak_currents: peak currents, A; their sign is ignored.
        n: electrons transferred.
        area: electrode area, m^2.
        c: bulk concentration of the electroactive species, mol/m^3 (1 mM = 1 mol/m^3).
        T: temperature, K.
        reversible: ``False`` for a totally irreversible wave (then ``alpha`` is needed).
        alpha: transfer coefficient of the rate-determining step (irreversible wave).
        n_alpha: electrons up to and including the rate-determining step (default ``n``).
        through_origin: which fit gives ``D`` (the other is reported under ``"free"`` or
            ``"origin"``).

    Returns:
        ``{"D", "D_stderr", "slope", "slope_stderr", "intercept", "r2", "n_points",
        "fit", "origin", "free"}``: D in m^2/s with its standard error (from the slope's),
        slope in A/(V/s)^1/2, intercept in A (0 through the origin), r2 the coefficient of
        determination; ``"origin"`` and ``"free"`` hold both fits (``D``, ``slope``,
        ``intercept``, their standard errors, ``r2``); values that need more points
        are NaN.

    Raises:
        DataError: mismatched or non-positive inputs, or a missing ``alpha``.
    """
    v = _vector(scan_rates, "scan rates")
    ip = np.abs(_vector(peak_currents, "peak currents"))
    if v.size != ip.size:
        raise _bad(f"{v.size} scan rates but {ip.size} peak currents")
    if v.size == 0:
        raise _bad("no scan rates given")
    if np.any(v <= 0):
        raise _bad("scan rates must be positive")
    if not through_origin and v.size < 2:
        raise _bad("a fit with an intercept needs at least 2 scan rates")
    area, c, T = _positive(area, "area"), _positive(c, "c"), _positive(T, "T")
    n = _positive(n, "n")
    if reversible:
        factor = RANDLES_SEVCIK * n * F * area * c * math.sqrt(n * F / (R * T))
    else:
        if alpha is None:
            raise _bad("an irreversible wave needs the transfer coefficient alpha")
        alpha = _positive(alpha, "alpha")
        na = _positive(n if n_alpha is None else n_alpha, "n_alpha")
        factor = IRREVERSIBLE_PEAK * n * F * area * c * math.sqrt(alpha * na * F / (R * T))
    x = np.sqrt(v)
    fits = {}
    for name, origin in (("origin", True), ("free", False)):
        if not origin and v.size < 2:
            fit = {"slope": math.nan, "slope_stderr": math.nan, "intercept": math.nan,
                   "intercept_stderr": math.nan, "r2": math.nan}
        else:
            fit = _linear_fit(x, ip, origin)
        a = fit["slope"]
        fit["D"] = (a / factor) ** 2 if a > 0 else math.nan
        fit["D_stderr"] = 2 * fit["D"] * fit["slope_stderr"] / a if a > 0 else math.nan
        fits[name] = fit
    main = fits["origin" if through_origin else "free"]
    return {
        "D": main["D"],
        "D_stderr": main["D_stderr"],
        "slope": main["slope"],
        "slope_stderr": main["slope_stderr"],
        "intercept": main["intercept"],
        "r2": main["r2"],
        "n_points": int(v.size),
        "fit": "origin" if through_origin else "free",
        "origin": fits["origin"],
        "free": fits["free"],
    }


# -- Nicholson ---------------------------------------------------------------------------


def _psi_table(X: float) -> float:
    return float(np.exp(np.interp(X, _TABLE_X, _TABLE_LNPSI)))


def _psi_lavagnini(X: float) -> float:
    return (-0.6288 + 0.0021 * X) / (1.0 - 0.017 * X)


def _psi_klingler_kochi(delta_Ep: float, n: float, T: float, alpha: float) -> float:
    return 2.18 * math.sqrt(alpha / math.pi) * math.exp(-(alpha**2) * F / (R * T) * n * delta_Ep)


def nicholson_psi(delta_Ep: float, n: int = 1, T: float = T25, alpha: float = 0.5,
                  method: str = "auto") -> tuple[float, str]:
    """Nicholson's kinetic parameter psi from the peak separation of a CV.

    Methods (X = n Delta Ep in mV, brought to 25 degC as X = n Delta Ep * 298.15/T for
    the two 25 degC correlations):

    - ``"table"``: Nicholson's working curve (Anal. Chem. 37 (1965) 1351, Table I,
      alpha = 0.5), psi 20 ... 0.1 for X = 61 ... 212 mV, interpolated linearly in
      ln psi.
    - ``"lavagnini"``: the fit of that curve by Lavagnini, Antiochia and Magno
      (Electroanalysis 16 (2004) 505), psi = (-0.6288 + 0.0021 X)/(1 - 0.017 X), for
      61 < X < 212 mV (it gives 0.07 rather than 0.1 at 212 mV).
    - ``"klingler-kochi"``: the large-separation limit of Klingler and Kochi
      (J. Phys. Chem. 85 (1981) 1731), k0 = 2.18 sqrt(alpha n F D v/(R T))
      exp(-alpha^2 n F Delta Ep/(R T)), written for psi as by Mahé, Devilliers and
      Comninellis (Electrochim. Acta, 2005): psi = 2.18 sqrt(alpha/pi)
      exp(-alpha^2 n F Delta Ep/(R T)). 2.18 = exp(0.780): at alpha = 0.5 this is the
      separation of a totally irreversible cathodic peak and a totally irreversible
      anodic one (Nicholson & Shain 1964); for alpha != 0.5 the alpha^2 exponent is
      Klingler and Kochi's approximation. Meant for X > 212 mV; at 212 mV it gives
      psi = 0.11 (the table: 0.1).
    - ``"auto"`` (default): ``"table"`` for 61 <= X <= 212 mV, ``"klingler-kochi"``
      above.

    Below 61 mV the wave is reversible within the table's resolution (psi > 20): the
    result is ``(inf, "reversible")``.

    Known biases (the numbers measured on CVs simulated by mechlang, D_O = D_R; see the
    tests):

    - The table was computed for a sweep reversed soon after the wave: simulations
      reproduce it within about 1 mV when the sweep turns 112.5/n mV past E1/2, and k0
      then comes back within 5 % for psi = 0.1 ... 5. Turning 400 mV past E1/2 lowers
      Delta Ep by up to 2.4 mV, and k0 comes out 10 % high at psi = 1, 30 % at psi = 3
      and 70 % at psi = 5 (near the reversible end 1 mV is 15-20 % of psi).
    - The table assumes alpha = 0.5; for 0.3 <= alpha <= 0.7 k0 stays within about
      15 % for psi = 0.25 ... 5 (20 % at psi = 0.1).
    - Klingler--Kochi's exponent alpha^2 stands for alpha (1 - alpha) (the two
      irreversible branches): for alpha = 0.3 k0 comes out several times too high
      (x3 to x4 for Delta Ep of 250-330 mV), for alpha = 0.7 7 to 18 times too low; even at
      alpha = 0.5 the reverse peak of a CV is not that of bulk R and k0 is about 10 %
      high at Delta Ep = 280 mV.
    - (Not simulated here:) an uncompensated resistance widens Delta Ep, so psi and k0
      come out low.

    Arguments:
        delta_Ep: peak separation Epa - Epc, V.
        n: electrons transferred.
        T: temperature, K.
        alpha: transfer coefficient (used by ``"klingler-kochi"`` only).
        method: one of ``"auto"``, ``"table"``, ``"lavagnini"``, ``"klingler-kochi"``.

    Returns:
        ``(psi, method_used)``.

    Raises:
        DataError: a non-positive separation, an unknown method, or X outside the
        range of the chosen correlation.
    """
    if method not in NICHOLSON_METHODS:
        raise _bad(f"unknown Nicholson method '{method}'; choose one of {', '.join(NICHOLSON_METHODS)}")
    delta_Ep = _positive(delta_Ep, "Delta Ep")
    n, T, alpha = _positive(n, "n"), _positive(T, "T"), _positive(alpha, "alpha")
    if alpha >= 1:
        raise _bad(f"alpha = {alpha}: must lie between 0 and 1")
    X = n * delta_Ep * 1e3 * T25 / T
    if method == "klingler-kochi" or (method == "auto" and X > _X_MAX):
        return _psi_klingler_kochi(delta_Ep, n, T, alpha), "klingler-kochi"
    if X < _X_MIN:
        if method == "auto":
            return math.inf, "reversible"
        raise _bad(f"n Delta Ep = {X:.1f} mV is below the {method} range (61 to 212 mV): the wave is "
                   "reversible within its resolution")
    if X > _X_MAX:
        raise _bad(f"n Delta Ep = {X:.1f} mV is above the {method} range (61 to 212 mV)",
                   "use method 'klingler-kochi' (or 'auto') for wide separations")
    if method == "lavagnini":
        return _psi_lavagnini(X), "lavagnini"
    return _psi_table(X), "table"


def nicholson_k0(delta_Ep: float, scan_rate: float, D_O: float, D_R: float | None = None, n: int = 1,
                 T: float = T25, alpha: float = 0.5, method: str = "auto") -> dict:
    """Standard rate constant k0 from the peak separation of a quasi-reversible CV.

    psi from :func:`nicholson_psi`, then (Nicholson, Anal. Chem. 37 (1965) 1351)

        k0 = psi sqrt(pi D_O n F v / (R T)) / gamma^alpha,   gamma = (D_O/D_R)^1/2.

    Assumes a Butler--Volmer couple at a planar electrode, semi-infinite diffusion, no
    uncompensated resistance and (for the table) alpha = 0.5; see :func:`nicholson_psi`
    for the range of each correlation.

    Arguments:
        delta_Ep: peak separation Epa - Epc, V.
        scan_rate: V/s.
        D_O, D_R: diffusion coefficients of the oxidized and reduced forms, m^2/s
            (``D_R`` defaults to ``D_O``).
        n: electrons transferred.
        T: temperature, K.
        alpha: transfer coefficient.
        method: ``"auto"``, ``"table"``, ``"lavagnini"`` or ``"klingler-kochi"``.

    Returns:
        ``{"psi", "k0", "method", "nDEp_mV"}``: psi, k0 in m/s (``inf`` for a reversible
        wave), the correlation used, and n Delta Ep in mV at 25 degC.

    Raises:
        DataError: non-positive inputs or a separation outside the chosen correlation.
    """
    v = _positive(scan_rate, "scan rate")
    D_O = _positive(D_O, "D_O")
    D_R = D_O if D_R is None else _positive(D_R, "D_R")
    psi, used = nicholson_psi(delta_Ep, n, T, alpha, method)
    n, T = float(n), float(T)
    gamma = math.sqrt(D_O / D_R)
    k0 = psi * math.sqrt(math.pi * D_O * n * F * v / (R * T)) / gamma**alpha
    return {"psi": psi, "k0": k0, "method": used, "nDEp_mV": n * float(delta_Ep) * 1e3 * T25 / T}


# -- Tafel -------------------------------------------------------------------------------


def tafel(E, I, E_eq: float, region, n: int = 1, T: float = T25, area: float | None = None,  # noqa: E741
          c: float | None = None, sweep: str = "first") -> dict:
    """Tafel analysis: log10|I| against the overpotential over a chosen region.

    Far enough from equilibrium that the back reaction is negligible, and close enough
    to the foot of the wave that mass transport has not yet depleted the surface,
    Butler--Volmer kinetics give |I| = i0 exp(-alpha n F eta/(R T)) on the cathodic
    branch and |I| = i0 exp((1 - alpha) n F eta/(R T)) on the anodic one
    (eta = E - E_eq; Tafel, Z. Phys. Chem. 50 (1905) 641; Bard & Faulkner,
    Electrochemical Methods, 2nd ed., section 3.4). A straight line
    log10|I| = log10 i0 + s eta is fitted over the region and

    - slope_V_per_decade = 1/s (the Tafel slope b, negative on a cathodic branch);
    - cathodic branch (I < 0): alpha = -ln(10) R T s/(n F) = -2.303 R T/(n F b);
    - anodic branch (I > 0): 1 - alpha = ln(10) R T s/(n F) = 2.303 R T/(n F b); ``alpha`` is still reported
      as the cathodic transfer coefficient, and ``alpha_branch`` is the branch's own
      (alpha or 1 - alpha);
    - i0 = 10^(intercept), the current extrapolated to eta = 0;
    - k0 = i0/(n F A c) when ``area`` and ``c`` are given.

    With both forms in solution at c_O = c_R = c, i0 = n F A k0 c. With one form only
    (an LSV of O alone) the equilibrium potential is undefined: pass the formal
    potential E0 as ``E_eq``; i0 is then n F A k0 c_O and k0 follows the same way.
    The region must hold currents well below the peak (under ~10 %): nearer the
    peak the surface is depleted, the line bends, alpha comes out low and i0 (k0)
    high -- on a simulated irreversible LSV, a region at 20-60 % of the peak gives
    alpha = 0.39 for 0.5 and k0 three times too high, 1-10 % gives alpha within 0.01
    and k0 within 10 %.

    Arguments:
        E: potentials, V.
        I: currents, A (anodic positive).
        E_eq: equilibrium (or formal) potential, V.
        region: ``(lo, hi)``, the overpotential range eta = E - E_eq to fit, V (either order).
        n: electrons transferred.
        T: temperature, K.
        area: electrode area, m^2 (for k0).
        c: bulk concentration, mol/m^3 (for k0).
        sweep: ``"first"`` (default) fits only the first monotonic sweep of the record
            (the forward scan of a CV); ``"all"`` uses every sample.

    Returns:
        ``{"slope_V_per_decade", "alpha", "alpha_branch", "branch", "i0", "log10_i0",
        "k0", "r2", "n_points", "region"}``; ``k0`` is NaN without ``area`` and ``c``.

    Raises:
        DataError: fewer than 3 points in the region, currents of both signs (the region
        straddles equilibrium), zero current, or bad inputs.
    """
    E, I = _vector(E, "E"), _vector(I, "I")  # noqa: E741
    if E.shape != I.shape:
        raise _bad(f"E and I differ in length ({E.size} and {I.size})")
    try:
        lo, hi = sorted(float(r) for r in region)
    except (TypeError, ValueError):
        raise _bad(f"region {region!r}: expected two overpotentials (lo, hi) in V") from None
    E_eq = float(E_eq)
    n, T = _positive(n, "n"), _positive(T, "T")
    if sweep == "first":
        part = first_sweep(E)
        E, I = E[part], I[part]  # noqa: E741
    elif sweep != "all":
        raise _bad(f"sweep = {sweep!r}: expected 'first' or 'all'")
    eta = E - E_eq
    inside = (eta >= lo) & (eta <= hi)
    m = int(inside.sum())
    if m < 3:
        raise _bad(f"the region {lo:g} V to {hi:g} V of overpotential holds {m} points; at least 3 are needed",
                   f"the data span eta = {eta.min():.4g} V to {eta.max():.4g} V")
    x, y = eta[inside], I[inside]
    if np.any(y == 0) or (np.any(y > 0) and np.any(y < 0)):
        raise _bad("the Tafel region must hold currents of one sign only (it straddles equilibrium or "
                   "holds zero current)")
    cathodic = bool(y[0] < 0)
    fit = _linear_fit(x, np.log10(np.abs(y)), through_origin=False)
    s = fit["slope"]
    kT = math.log(10) * R * T / (n * F)
    alpha_branch = -s * kT if cathodic else s * kT
    alpha = alpha_branch if cathodic else 1.0 - alpha_branch
    i0 = 10.0 ** fit["intercept"]
    k0 = math.nan
    if area is not None and c is not None:
        k0 = i0 / (n * F * _positive(area, "area") * _positive(c, "c"))
    return {
        "slope_V_per_decade": 1.0 / s if s != 0 else math.inf,
        "alpha": alpha,
        "alpha_branch": alpha_branch,
        "branch": "cathodic" if cathodic else "anodic",
        "i0": i0,
        "log10_i0": fit["intercept"],
        "k0": k0,
        "r2": fit["r2"],
        "n_points": m,
        "region": (lo, hi),
    }


# -- data --------------------------------------------------------------------------------


def load_cv(path) -> tuple[np.ndarray, np.ndarray]:
    """Potential and current columns of a voltammogram file.

    Read by :func:`mechlang.inverse.data.read_table`: a table with a header naming the
    columns, ``E`` (potential) and ``I`` (current, anodic positive) required, SI unless
    the header gives a unit (``E [mV]``, ``I (uA)``); other columns (``t``) are ignored.
    This is what ``mechlang simulate -o`` writes.

    Arguments:
        path: the data file.

    Returns:
        ``(E, I)`` as float arrays, V and A.

    Raises:
        DataError: a missing or malformed file, no ``E`` or ``I`` column, or fewer than
        3 rows; the message names the file (and the row).
    """
    from mechlang.inverse.data import read_table

    columns = read_table(path)
    missing = [name for name in ("E", "I") if name not in columns]
    if missing:
        notes = ["expected a header such as 't,E,I' (SI) or 'E [mV],I [uA]'"]
        if "I" in missing and "j" in columns:
            notes.append("a current density (j) needs the electrode area: give I = j * area")
        raise DataError(error(f"no column {' or '.join(missing)} in the header (found: {', '.join(columns)})",
                              Span(str(path)), *notes))
    E, I = columns["E"], columns["I"]  # noqa: E741
    if E.size < 3:
        raise DataError(error(f"{E.size} data rows; a voltammogram needs at least 3", Span(str(path))))
    return E, I
