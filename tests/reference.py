"""Independent reference results, computed without the simulator.

``sweep_by_integral_equation`` solves the classical integral equation of a linear or
cyclic sweep at a planar electrode under semi-infinite diffusion (Nicholson and Shain,
Anal. Chem. 36 (1964) 706) for one couple O + n e- <=> R with equal diffusion
coefficients and any rate law, by product integration of the Abel kernel on a fine
uniform time grid (first order; the grid is fine enough for 0.05 mV peak potentials).
"""

from __future__ import annotations

import numpy as np

F = 96485.33212
R = 8.314462618


def cv_programme(E_start, E_vertex, v, dE=5e-5):
    n1 = int(round(abs(E_vertex - E_start) / dE))
    fwd = np.linspace(E_start, E_vertex, n1 + 1)[1:]
    back = np.linspace(E_vertex, E_start, n1 + 1)[1:]
    E = np.concatenate([fwd, back])
    dt = abs(E_vertex - E_start) / n1 / v
    return dt, E


def sweep_by_integral_equation(E, dt, D, c, n=1, T=298.15, E0=0.0, k0=None, alpha=0.5):
    """Flux of O into the electrode (mol/m^2/s, reduction positive) at each step.

    k0=None: Nernstian; else Butler-Volmer with k0 (m/s) and alpha.
    The surface concentrations follow from the flux history:
    c_O(0,t) = c - I(t)/sqrt(pi D),  c_R(0,t) = I(t)/sqrt(pi D),
    with I(t) = int_0^t j(s) / sqrt(t - s) ds.
    """
    f = n * F / (R * T)
    N = len(E)
    t = dt * np.arange(1, N + 1)
    j = np.zeros(N)
    s = np.sqrt(np.pi * D)
    # Weight of the constant flux on step k (from t_{k-1} to t_k) at time t_m.
    roots = np.sqrt(dt * np.arange(N + 1))
    w = 2.0 * (roots[1:] - roots[:-1])  # w[m-k] for the step k at time m
    for m in range(N):
        hist = np.dot(j[:m][::-1], w[1 : m + 1]) if m else 0.0
        own = w[0]
        x = f * (E[m] - E0)
        if k0 is None:
            # c_O/c_R = exp(x):  (c - (hist + own j)/s) = exp(x) (hist + own j)/s
            j[m] = (c * s / (1 + np.exp(x)) - hist) / own
        else:
            kr, ko = k0 * np.exp(-alpha * x), k0 * np.exp((1 - alpha) * x)
            # j = kr c_O - ko c_R,  c_O = c - (hist + own j)/s,  c_R = (hist + own j)/s
            j[m] = (kr * c - (kr + ko) * hist / s) / (1 + (kr + ko) * own / s)
    return t, j


def parabolic_peak(x, y, k):
    """Vertex of the parabola through the three points around index k."""
    p = np.polyfit(x[k - 1 : k + 2], y[k - 1 : k + 2], 2)
    xv = -p[1] / (2 * p[0])
    return xv, np.polyval(p, xv)


def peaks(E, I):
    """(Epc, Ipc, Epa, Ipa) of a voltammogram, refined by a parabola through 3 points."""
    E, I = np.asarray(E), np.asarray(I)
    kc, ka = int(np.argmin(I)), int(np.argmax(I))
    Epc, Ipc = parabolic_peak(E, I, kc)
    Epa, Ipa = parabolic_peak(E, I, ka) if 0 < ka < len(I) - 1 else (np.nan, np.nan)
    return Epc, Ipc, Epa, Ipa


def sweep_peaks(E_start, E_vertex, v, D, c, n=1, T=298.15, E0=0.0, k0=None, alpha=0.5, dE=1e-4):
    """Peak potentials and currents (per unit area) of the integral-equation CV,
    Richardson-extrapolated from steps dE and dE/2 (the product integration is first order)."""
    out = []
    for step in (dE, dE / 2):
        dt, E = cv_programme(E_start, E_vertex, v, step)
        _, j = sweep_by_integral_equation(E, dt, D, c, n, T, E0, k0, alpha)
        out.append(np.array(peaks(E, -n * F * j)))
    return tuple(2 * out[1] - out[0])
