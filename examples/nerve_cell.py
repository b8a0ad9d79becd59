"""Electrodiffusion at one open sodium channel of a squid axon, and the current pulse it
gives as it charges the membrane, for channel densities from 1 to 10,000 per um^2.

The model (``nerve_cell.mech``): Na+ enters the axoplasm (50 mM Na+, 400 mM K+, 450 mM Cl-,
6.3 degC) through the inner mouth of one open channel, a hemisphere of radius 0.5 nm on
the membrane, and moves by diffusion and migration (Nernst-Planck, electroneutral) among
K+ and Cl- into a hemisphere that grows with the sodium diffusion length.  The channel
is a Butler-Volmer ion transfer Na+(in) <=> Na+(out, 440 mM) with k = 0.1 cm/s, alpha = 0.5,
its equilibrium at E_Na = 52 mV; no gating (the channel stays open).  The simulator's
potential E is minus the membrane potential V; the electrode kinetics see the solution's
potential at the mouth.

Assumptions (the case study's seed set-up was not available): the pulse ends because the
Na+ entering charges the membrane's capacitance, C_m = 1 uF/cm^2, of which each channel
owns C_m/density; the membrane starts at rest, V = -65 mV, and every channel opens at
t = 0.  The experiment ``pulse`` simulates exactly that: a galvanostatic experiment with
no applied current and the electrode's double-layer capacitance Cdl = C_m/density, so
that the channel current -Cdl dE/dt charges the membrane while Na+, K+ and Cl- move by
diffusion and migration around the mouth; it runs for each density (a runtime value).
As a cross-check the script also builds the pulse from the channel's quasi-steady
current: transport around a 0.5 nm mouth relaxes within nanoseconds (``clamp``: the
current into the growing hemisphere is within 1 % of its final value after a few ns),
far faster than the membrane charges, so the channel current at any moment is its
quasi-steady value i(V) at the membrane potential then, which the slow sweep ``sweep``
gives; the membrane then follows (C_m/density) dV/dt = i(V).  The pulse i(t) is one
curve whose time axis scales with 1/density.

Found (printed and plotted; ``--out`` folder, default ``nerve_cell_out``): the current
through one open channel is 0.38 pA at rest and reverses at E_Na.  In ``pulse`` the
membrane runs from rest to E_Na (52.3 mV) and the current's characteristic time (down to
1/e of its start) grows from 2.07e-7 s at 10,000 channels per um^2 to 2.07e-3 s at 1 per
um^2: a factor 10^4 over the four decades, the case study's trend (1e-5 to 1e-1 s), with
absolute times about 50 times shorter (they scale as C_m/i, and i follows from the
assumed permeation constant).  The quasi-steady construction gives times 1.4 % shorter
(the sweep lags a little).  Around the mouth, after 10 us at rest,
Na+ is up by 0.9 mM (1.8 %), and migration has moved K+ out (-0.42 mM) and Cl- in
(+0.48 mM) so that the solution stays neutral; the solution's potential at the mouth is
below 0.03 mV, so the access resistance of a sub-picoampere channel is negligible.

Comparison with squid axon (values from the literature, not fitted): Hodgkin and Huxley
(J. Physiol. 117 (1952) 500) give g_Na = 120 mS/cm^2 for the fully activated membrane and
C_m = 1 uF/cm^2; with several hundred Na channels per um^2 (TTX binding, e.g. Levinson and
Meves, Phil. Trans. R. Soc. B 270 (1975) 349: about 550 per um^2) that is about 2 pS per
channel, 0.26 pA at rest (117 mV from E_Na); the model gives 3.3 pS and 0.38 pA.  At the
squid density its characteristic time is 3.8 us, against the time constant of the fully
open squid sodium conductance, C_m/g_Na = 8.3 us.  Concentrations: squid axoplasm and sea water as tabulated by Hille
(Ion Channels of Excitable Membranes, 3rd ed., 2001, table 1.1); the axoplasm's Cl-
is raised to 450 mM so that Na+, K+ and Cl- alone are electroneutral.

    python examples/nerve_cell.py [--out DIR] [--points N]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
MODEL = ROOT / "examples" / "nerve_cell.mech"
C_M = 1e-2  # F/m^2 (1 uF/cm^2, Hodgkin and Huxley 1952)
G_NA = 1200.0  # S/m^2 (120 mS/cm^2, Hodgkin and Huxley 1952)
SQUID_DENSITY = 550.0  # channels per um^2 (TTX binding, Levinson and Meves 1975)
E_NA = 0.0524  # V: (RT/F) ln(440/50) at 6.3 degC
V_REST = -0.065  # V
DENSITIES = (1.0, 10.0, 100.0, 1e3, 1e4)  # per um^2


def channel(points: int = 100, clamp: bool = True):
    """The quasi-steady channel current against membrane potential (V, A; Na+ entering > 0)
    and the solution potential at the mouth over the sweep; with ``clamp`` the clamp's
    transient (t, I) and final profiles (x, c)."""
    import mechlang

    opts = dict(points=points, first_cell=1e-7, newton=8)
    sweep = mechlang.compile(MODEL, "sweep", dE=2e-3, **opts)()
    out = dict(V=-np.asarray(sweep.E), i=np.asarray(sweep.I), phi=np.asarray(sweep.phi))
    if clamp:
        res = mechlang.compile(MODEL, "clamp", ca_steps=200, **opts)()
        out.update(t_clamp=np.asarray(res.t), i_clamp=np.asarray(res.I), x=np.asarray(res.x),
                   c=np.asarray(res.c_final))
    return out


def simulated_pulses(densities, points: int = 100, steps: int = 300):
    """The ``pulse`` experiment at each density: {density: (t, V, i)} with the membrane
    potential V = -E and the channel current i = -Cdl dE/dt (A, Na+ entering > 0) over
    a duration of about 25 characteristic times."""
    import mechlang

    sim = mechlang.compile(MODEL, "pulse", points=points, first_cell=1e-7, ca_steps=steps)
    out = {}
    for density in densities:
        res = sim({"density": density * 1e12, "duration": 0.05 / density})
        t, E = np.asarray(res.t), np.asarray(res.E)
        cap = C_M / (density * 1e12)
        i = -cap * np.diff(np.concatenate([[-V_REST], E])) / np.diff(np.concatenate([[0.0], t]))
        out[density] = (t, -E, i)
    return out


def pulse(V, i, density: float, fall: float = 1e-3):
    """The membrane charged by one channel per 1/density of membrane: (C_m/density) dV/dt = i(V)
    from rest; returns t (s) and i(t) (A) until the current is ``fall`` of its start."""
    order = np.argsort(V)
    Vs, is_ = V[order], i[order]
    cap = C_M / (density * 1e12)  # F per channel
    i0 = float(np.interp(V_REST, Vs, is_))
    # t(V) = integral of cap / i dV from rest, on a fine grid up to where i = fall i0
    V_end = float(np.interp(fall * i0, is_[::-1], Vs[::-1]))
    grid = np.linspace(V_REST, V_end, 4001)
    ig = np.interp(grid, Vs, is_)
    dt = cap * np.diff(grid) * 0.5 * (1 / ig[1:] + 1 / ig[:-1])
    t = np.concatenate([[0.0], np.cumsum(dt)])
    return t, ig


def characteristic_time(t, i):
    """The time the current takes to fall to 1/e of its start."""
    k = np.flatnonzero(i <= i[0] / np.e)[0]
    return float(np.interp(i[0] / np.e, [i[k], i[k - 1]], [t[k], t[k - 1]]))


def free_path(folder: Path, name: str) -> Path:
    """``folder/name``, or with a number added so no existing file is overwritten."""
    path = folder / name
    k = 1
    while path.exists():
        path = folder / f"{Path(name).stem}_{k}{Path(name).suffix}"
        k += 1
    return path


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", default="nerve_cell_out", help="folder for the plot (created; nothing overwritten)")
    ap.add_argument("--points", type=int, default=100, help="grid nodes")
    args = ap.parse_args(argv)
    t0 = time.perf_counter()
    ch = channel(args.points)
    direct = simulated_pulses((*DENSITIES, SQUID_DENSITY), args.points)
    V, i = ch["V"], ch["i"]
    order = np.argsort(V)
    i_rest = float(np.interp(V_REST, V[order], i[order]))
    g_chord = i_rest / (E_NA - V_REST)
    g_hh = G_NA / (SQUID_DENSITY * 1e12)  # S per channel
    print(f"one open channel at rest ({V_REST * 1e3:.0f} mV): {i_rest * 1e12:.3f} pA, chord conductance "
          f"{g_chord * 1e12:.2f} pS; Hodgkin-Huxley g_Na / {SQUID_DENSITY:.0f} um^-2: "
          f"{g_hh * 1e12:.2f} pS, {g_hh * (E_NA - V_REST) * 1e12:.3f} pA")
    print(f"solution potential at the mouth: at most {np.abs(ch['phi']).max() * 1e3:.3f} mV; "
          f"Na+ at the mouth after the clamp: {ch['c'][0, 0]:.3f} mM (bulk 50)")
    tc, ic = ch["t_clamp"], ch["i_clamp"]
    off = np.flatnonzero(np.abs(ic / ic[-1] - 1) > 0.01)
    settled = tc[off[-1] + 1] if off.size else tc[0]
    print(f"clamp at rest: the current is within 1 % of its final {ic[-1] * 1e12:.3f} pA after {settled:.2e} s")
    taus, pulses = [], []
    for density in (*DENSITIES, SQUID_DENSITY):
        t, ip = pulse(V, i, density)
        td, Vd, idd = direct[density]
        taus.append(characteristic_time(td, idd))
        pulses.append((density, td, idd))
        print(f"density {density:8.0f} per um^2: peak {idd[0] * 1e12:.3f} pA, characteristic time {taus[-1]:.3e} s "
              f"(quasi-steady: {characteristic_time(t, ip):.3e} s); V ends at {Vd[-1] * 1e3:.1f} mV")
    print(f"at the squid density the characteristic time is {taus[-1] * 1e6:.1f} us "
          f"(C_m/g_Na of the fully open squid membrane: {C_M / G_NA * 1e6:.1f} us)")
    print(f"({time.perf_counter() - t0:.1f} s)")

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(1, 4, figsize=(19, 4.5))
    ax[0].plot(V * 1e3, i * 1e12)
    ax[0].axhline(0, color="0.7", lw=0.8)
    ax[0].set(xlabel="membrane potential (mV)", ylabel="Na+ current into the cell (pA)",
              title="one open channel (quasi-steady)")
    for density, t, ip in pulses[:-1]:
        ax[1].semilogx(t[1:], ip[1:] * 1e12, label=f"{density:g} per um$^2$")
    ax[1].set(xlabel="time (s)", ylabel="channel current (pA)", title="current pulse while the membrane charges (pulse)")
    ax[1].legend(fontsize=8)
    ax[2].loglog(DENSITIES, taus[:-1], "o-", label="this model")
    ax[2].loglog([1, 1e4], [1e-1, 1e-5], "k--", label="case study trend (1e-1 to 1e-5 s)")
    ax[2].set(xlabel="channel density (per um$^2$)", ylabel="characteristic time (s)", title="time to 1/e")
    ax[2].legend(fontsize=8)
    x, c = ch["x"], ch["c"]
    near = (x > 1e-11) & (x < 50e-9)
    ax[3].semilogx(x[near] * 1e9, c[near, 0] - 50.0, label="Na+")
    ax[3].semilogx(x[near] * 1e9, c[near, 1] - 400.0, label="K+")
    ax[3].semilogx(x[near] * 1e9, c[near, 2] - 450.0, label="Cl-")
    ax[3].axhline(0, color="0.7", lw=0.8)
    ax[3].set(xlabel="distance from the channel mouth (nm)", ylabel="change from the bulk (mM)",
              title="clamp at rest, 10 us: the hemisphere")
    ax[3].legend(fontsize=8)
    fig.tight_layout()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    path = free_path(out, "nerve_cell.png")
    fig.savefig(path, dpi=120)
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
