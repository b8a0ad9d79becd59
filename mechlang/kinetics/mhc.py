"""``mhc(E0, k0, lambda)``: Marcus-Hush-Chidsey kinetics at a metal electrode.

The closed form of Zeng, Smith, Bai and Bazant, J. Electroanal. Chem. 735 (2014) 77:
with eta = n f (E - E0) and l = lambda / kT,

    k_red/ox  ~  sqrt(pi l) / (1 + exp(+-eta)) * erfc((l - sqrt(1 + sqrt(l) + eta^2)) / (2 sqrt(l)))

normalised so that k_red(E0) = k_ox(E0) = k0; k_ox/k_red = exp(eta) holds exactly.
"""

import sympy

from mechlang import constants
from mechlang.kinetics.base import KineticLaw, f_of, register


def _rates(E, T, n, args, options):
    eta = n * f_of(T) * (E - args["E0"])
    lam = args["lambda"] / (constants.k_B * T)

    def shape(x):
        return sympy.erfc((lam - sympy.sqrt(1 + sympy.sqrt(lam) + x**2)) / (2 * sympy.sqrt(lam)))

    norm = args["k0"] * 2 / shape(0)
    return (
        norm * shape(eta) / (1 + sympy.exp(eta)),
        norm * shape(eta) / (1 + sympy.exp(-eta)),
    )


register(
    KineticLaw(
        name="mhc",
        params=("E0", "k0", "lambda"),
        units=("V", "m/s", "J"),
        rates=_rates,
        options={"exact": 0},
        doc="Marcus-Hush-Chidsey, closed form of Zeng et al. (2014)",
    )
)
