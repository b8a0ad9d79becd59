"""``butler_volmer(E0, k0, alpha)``.

k_red = k0 exp(-alpha n f (E - E0)),  k_ox = k0 exp((1 - alpha) n f (E - E0)).
"""

import sympy

from mechlang.kinetics.base import KineticLaw, f_of, register


def _rates(E, T, n, args, options):
    eta = n * f_of(T) * (E - args["E0"])
    return (
        args["k0"] * sympy.exp(-args["alpha"] * eta),
        args["k0"] * sympy.exp((1 - args["alpha"]) * eta),
    )


register(
    KineticLaw(
        name="butler_volmer",
        params=("E0", "k0", "alpha"),
        units=("V", "m/s", ""),
        rates=_rates,
        doc="k_red = k0 exp(-alpha n f (E-E0)), k_ox = k0 exp((1-alpha) n f (E-E0))",
    )
)
