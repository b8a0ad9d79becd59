"""``frumkin_bv(E0, k0, alpha, g)``: Butler-Volmer between surface species that interact.

For an electron transfer between species on a site (``site S: Gamma_max = ...``), the
coverages theta_ox, theta_red of its oxidised and reduced sides shift the driving force:

    eta' = n f (E - E0) - g (theta_ox - theta_red),
    k_red = k0 exp(-alpha eta'),  k_ox = k0 exp((1 - alpha) eta'),

so that at equilibrium theta_ox / theta_red = exp(n f (E - E0) - g (theta_ox - theta_red))
(Frumkin; g > 0: like neighbours repel, the wave of a full layer broadens and its peak
falls by 4 / (4 + 2 g theta), Laviron 1974).  g = 0 is ``butler_volmer``.  The coverages
are supplied by the symbolic stage (``coverage`` below); k0 is in 1/s, as for every
electron transfer between surface species.
"""

import sympy

from mechlang.kinetics.base import KineticLaw, f_of, register


def _rates(E, T, n, args, options):
    theta = args.get("theta_ox", 0) - args.get("theta_red", 0)
    eta = n * f_of(T) * (E - args["E0"]) - args["g"] * theta
    return (
        args["k0"] * sympy.exp(-args["alpha"] * eta),
        args["k0"] * sympy.exp((1 - args["alpha"]) * eta),
    )


register(
    KineticLaw(
        name="frumkin_bv",
        params=("E0", "k0", "alpha", "g"),
        units=("V", "m/s", "", ""),
        rates=_rates,
        coverage=True,
        doc="Butler-Volmer with a Frumkin interaction g between surface species on a site",
    )
)
