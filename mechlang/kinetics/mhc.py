"""``mhc(E0, k0, lambda)``: Marcus-Hush-Chidsey kinetics at a metal electrode.

With eta = n f (E - E0) and l = lambda / kT, Chidsey's rate of reduction integrates the
Marcus rate over the occupied states of the metal (x: electron energy relative to the
Fermi level, in kT):

    k_red(eta)  ~  Integral exp(-(x - l - eta)^2 / (4 l)) / (1 + exp(x)) dx,
    k_ox(eta)   =  k_red(-eta),

so that k_red grows as E decreases and levels off at large driving force, and
k_ox/k_red = exp(eta).  Both are normalised so that k_red(E0) = k_ox(E0) = k0.

By default the closed form of Zeng, Smith, Bai and Bazant, J. Electroanal. Chem. 735
(2014) 77, replaces the integral:

    k_red/ox  ~  sqrt(pi l) / (1 + exp(+-eta)) * erfc((l - sqrt(1 + sqrt(l) + eta^2)) / (2 sqrt(l)))

(k_ox/k_red = exp(eta) holds exactly).  Against the integral it is within about 12 % for
l from 1 to 20 (4 % for l = 10-16) and worse beyond (27 % at l = 40); it does not tend to
Butler-Volmer as l -> oo (its normalised rate tends, slowly, to k0 exp(-+eta/2) / cosh(eta/2)),
and in float64 its erfc underflows beyond l of about 2500 (65 eV at room temperature).

``mhc(E0, k0, lambda, exact = 1)`` evaluates the integral itself, by the fixed-node
quadrature of :mod:`mechlang.kinetics.mhc_quadrature` (relative error below 1e-9 for l in
[1, 40], |eta| <= 40), as the SymPy function :class:`MHCLogIntegral`, which the code
generator maps onto JAX.  With L(eta) = log M(eta, l) of that module,

    k_red = k0 exp((L(eta) + L(-eta) - eta)/2 - L(0)),  k_ox = k_red exp(eta),

the symmetric form of k0 M(eta)/M(0) (M(-eta) = exp(eta) M(eta)): detailed balance and
k_ox(eta) = k_red(-eta) then hold to rounding, and as l -> oo the rates tend to
Butler-Volmer with alpha = 1/2.
"""

import sympy

from mechlang import constants
from mechlang.kinetics.base import KineticLaw, f_of, register


class MHCLogIntegral(sympy.Function):
    """``MHCLogIntegral(eta, l)``: log of (4 pi l)^(-1/2) Integral exp(-(x - l - eta)^2/(4 l)) / (1 + e^x) dx.

    eta and l in units of kT.  Kept unevaluated in SymPy; evaluated numerically in JAX
    (``mechlang.kinetics.mhc_quadrature.log_integral``, in the code generator's table).
    """

    nargs = 2


def _rates(E, T, n, args, options):
    eta = n * f_of(T) * (E - args["E0"])
    lam = args["lambda"] / (constants.k_B * T)
    k0 = args["k0"]

    if options.get("exact", 0):
        def L(x):
            return MHCLogIntegral(x, lam)

        log_red = (L(eta) + L(-eta) - eta) / 2 - L(sympy.Integer(0))
        return k0 * sympy.exp(log_red), k0 * sympy.exp(log_red + eta)

    def shape(x):
        return sympy.erfc((lam - sympy.sqrt(1 + sympy.sqrt(lam) + x**2)) / (2 * sympy.sqrt(lam)))

    norm = k0 * 2 / shape(0)
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
        doc="Marcus-Hush-Chidsey: closed form of Zeng et al. (2014), or the integral with exact = 1",
    )
)
