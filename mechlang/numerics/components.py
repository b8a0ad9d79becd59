"""Which species must be solved together, and in which order.

Species s depends on s' when its equations contain c_s' at the same node (a homogeneous
step), or at the electrode (a finite-rate electron transfer whose rate contains c_s', or
an equilibrium step linking both).  The strongly connected components of this graph are
solved one after another, dependencies first, each with the coupling to the species
already solved moved to the right-hand side: the Newton step is the same, but an EC
mechanism solves {A, B} and then {C} instead of one 3 x 3 block system.  A component
whose species are coupled only at the electrode is solved by batched tridiagonal solves;
one with coupling at every node by the block recursion.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mechlang.symbolic.system import SymbolicSystem


@dataclass(frozen=True)
class Component:
    species: tuple[int, ...]  # indices into the system's species
    nernst: tuple[int, ...]  # indices of its equilibrium steps (among the nernst steps)
    dense: bool  # homogeneous steps couple two of its species at a node


def components(system: SymbolicSystem) -> list[Component]:
    S = len(system.species)
    dep = np.eye(S, dtype=bool)
    for i in range(S):
        for k in range(S):
            if system.source_jac[i][k] != 0:
                dep[i, k] = True
    nernst_sets = []
    for es in system.electrode:
        involved = [i for i, n in enumerate(es.stoich) if n]
        if es.equilibrium:
            nernst_sets.append(involved)
            for i in involved:
                dep[i, involved] = True
        else:
            depends = [k for k in range(S) if es.rate_jac[k] != 0]
            for i in involved:
                dep[i, depends] = True
    reach = dep.copy()
    for k in range(S):  # transitive closure (Floyd-Warshall)
        reach |= reach[:, k : k + 1] & reach[k : k + 1, :]
    seen, comps = set(), []
    for i in range(S):
        if i in seen:
            continue
        members = tuple(k for k in range(S) if reach[i, k] and reach[k, i])
        seen.update(members)
        comps.append(members)
    # Dependencies first: a component that reaches fewer species goes earlier.
    comps.sort(key=lambda m: (int(reach[m[0]].sum()), m))
    out = []
    for members in comps:
        nernst = tuple(j for j, inv in enumerate(nernst_sets) if inv and inv[0] in members)
        dense = any(system.source_jac[a][b] != 0 for a in members for b in members if a != b)
        out.append(Component(members, nernst, dense))
    return out
