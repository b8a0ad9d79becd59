"""``nernst(E0)``: the reversible limit, c_ox/c_red = exp(n f (E - E0)) at the surface."""

from mechlang.kinetics.base import KineticLaw, register

register(
    KineticLaw(
        name="nernst",
        params=("E0",),
        units=("V",),
        equilibrium=True,
        doc="equilibrium at the electrode surface (reversible limit)",
    )
)
