"""Solver options: the static numerical structure of a simulation.

The defaults give the accuracy the test-suite checks (Randles-Sevcik within 0.2 %,
peak potentials within 0.5 mV, Cottrell within 1 %) without any tuning; each can be
traded for speed.  Changing an option recompiles; changing a parameter does not.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace


@dataclass(frozen=True)
class Options:
    points: int = 160  # grid nodes
    first_cell: float = 5e-5  # first spacing / domain length (the grid expands geometrically)
    domain: float = 6.0  # domain length in diffusion lengths sqrt(D_max * t_total)
    dE: float = 1e-3  # potential step of sweeps, V (BDF2: 1 mV gives Randles-Sevcik to ~1e-4)
    bdf1_steps: int = 2  # implicit Euler steps before BDF2 takes over (damps a potential step)
    ca_steps: int = 600  # time steps of a potential step experiment
    ca_first_step: float = 1e-5  # first time step / duration
    newton: int | None = None  # Newton iterations per step; None: 1 if linear, else 4
    newton_tol: float = 1e-7  # the last Newton update (relative to the largest bulk concentration)
    checkpoint: bool = True  # recompute each step in reverse mode instead of storing it
    # Differentiated in forward mode only (Levenberg-Marquardt's Jacobians): the tangents of
    # parameters that enter only the electrode's rows share the step's tridiagonal call
    # (about a fifth off a Jacobian); reverse mode then fails.
    forward_only: bool = False
    profiles: bool = False  # keep the concentration profiles of every step (Result.profiles)
    rde_domain: float = 4.0  # rotating disk: the domain is at most this many Levich layers delta
    rde_terms: int = 3  # rotating disk velocity: 3 = Cochran's series to xi^4, 1 = the x^2 term alone
    # transport concentrated: a measured current programme ((t, ...), (i, ...)) in s and A/m^2
    # (current density, positive from the left electrode to the right one), interpolated
    # linearly; it replaces the experiment's current_density.  Tuples: options are static.
    current_table: tuple | None = None

    def __post_init__(self):
        if self.current_table is not None:
            # Arrays or lists become tuples of floats: options are hashed (compiled code is
            # kept per options), and a table's values are part of the static structure.
            try:
                table = tuple(tuple(float(v) for v in part) for part in self.current_table)
            except (TypeError, ValueError):
                return  # left for the simulator's own check, which names what is wrong
            object.__setattr__(self, "current_table", table)

    def with_(self, **changes) -> "Options":
        known = {f.name for f in fields(self)}
        unknown = set(changes) - known
        if unknown:
            raise TypeError(f"unknown solver option(s) {sorted(unknown)}; known: {sorted(known)}")
        return replace(self, **changes)
