"""``marcus(E0, k0, lambda)``: symmetric Marcus-Hush for a single-state reactant.

With eta = n f (E - E0) and l = lambda / kT (lambda an energy per molecule):
k_red = k0 exp(-eta/2 - eta^2/(4 l)),  k_ox = k0 exp(eta/2 - eta^2/(4 l)),
so that k_red(E0) = k_ox(E0) = k0 and k_ox/k_red = exp(eta).
"""

import sympy

from mechlang import constants
from mechlang.kinetics.base import KineticLaw, f_of, register


def _rates(E, T, n, args, options):
    eta = n * f_of(T) * (E - args["E0"])
    lam = args["lambda"] / (constants.k_B * T)
    common = -(eta**2) / (4 * lam)
    return (
        args["k0"] * sympy.exp(common - eta / 2),
        args["k0"] * sympy.exp(common + eta / 2),
    )


register(
    KineticLaw(
        name="marcus",
        params=("E0", "k0", "lambda"),
        units=("V", "m/s", "J"),
        rates=_rates,
        doc="symmetric Marcus-Hush, reorganisation energy lambda",
    )
)
