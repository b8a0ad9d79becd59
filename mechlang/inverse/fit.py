"""``mechlang.fit`` and ``mechlang.compare``: gradient-based fits with error bars, and
ranking rival mechanisms by information criteria."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Mapping, Sequence

import jax
import jax.numpy as jnp
import numpy as np

from mechlang.errors import DataError, Diagnostic, ModelError, error, warning
from mechlang.inverse.optimize import first_order, lm
from mechlang.inverse.problem import Problem
from mechlang.model import ir
from mechlang.numerics.options import Options

METHODS = ("lm", "lbfgs", "adam")


@dataclass
class FitResult:
    """The outcome of :func:`fit`; every value in SI.

    ``stderr`` is ``inf`` (and the parameter's correlations ``nan``) for a parameter the
    data do not determine at all (the Jacobian has no component along it, e.g. the
    concentration of a species that never reaches the electrode); a warning names it.

    ``spread`` describes the starts of a multi-start fit: for every fitted name, the
    ``min``, ``max`` and ``std`` of its final value over all starts that converged (with a
    finite loss), the best included; empty with one start, or when no start converged.
    ``n_converged_starts`` counts those starts and ``n_starts_at_best`` the starts whose
    loss came within 1 % of the best (the best included): several there, with a small
    spread, say the optimum is found from wherever the search begins.

    ``data_notes``: one sentence per data set some of whose rows were left out because
    they lie outside the experiment's programme (past a vertex, past the end of a sweep or
    a transient): the file (or experiment), how many rows, which and why.  Each is also
    among ``warnings``.
    """

    values: dict[str, float]
    stderr: dict[str, float]
    correlation: dict[str, dict[str, float]]
    loss: float  # sum of squared residuals, each scaled by its experiment's largest |I| (or its own |I|)
    n_simulations: int  # forward runs of one experiment besides those inside a Jacobian or gradient
    n_gradients: int  # Jacobian or gradient evaluations of one experiment, each with its forward run
    wall_time: float
    converged: bool
    history: list[float]  # best loss after each iteration
    method: str = "lm"
    n_points: int = 0
    units: dict[str, str] = field(default_factory=dict)
    aic: float = float("nan")
    bic: float = float("nan")
    starts: list[dict] = field(default_factory=list)  # every start: values, loss, converged
    spread: dict[str, dict[str, float]] = field(default_factory=dict)  # name -> min, max, std over converged starts
    warnings: list[Diagnostic] = field(default_factory=list)
    file: str = ""
    curves: dict = field(default_factory=dict)  # experiment -> dict(x, data, fit, kind)
    weighting: str = "max"
    data_notes: list[str] = field(default_factory=list)  # data sets that lost rows: which, how many, why
    n_converged_starts: int = 0  # starts that converged
    n_starts_at_best: int = 0  # starts that came within 1 % of the best loss

    def report(self) -> dict:
        """The JSON report of ``mechlang fit -o``."""
        return {
            "file": self.file,
            "method": self.method,
            "weighting": self.weighting,
            "parameters": {k: {"value": self.values[k], "stderr": self.stderr[k], "unit": self.units.get(k, "")}
                           for k in self.values},
            "correlation": self.correlation,
            "loss": self.loss,
            "aic": self.aic,
            "bic": self.bic,
            "n_points": self.n_points,
            "n_simulations": self.n_simulations,
            "n_gradients": self.n_gradients,
            "wall_time_s": self.wall_time,
            "converged": self.converged,
            "starts": self.starts,
            "spread": self.spread,
            "n_converged_starts": self.n_converged_starts,
            "n_starts_at_best": self.n_starts_at_best,
            "data_notes": list(self.data_notes),
            "warnings": [d.format(False) for d in self.warnings],
        }


def information_criteria(loss: float, n: int, k: int) -> tuple[float, float]:
    """AIC and BIC of a least-squares fit with Gaussian errors of unknown variance."""
    sigma2 = max(loss / n, 1e-300)
    return n * np.log(sigma2) + 2 * k, n * np.log(sigma2) + k * np.log(n)


def _scales(problem: Problem, x: np.ndarray) -> np.ndarray:
    """What each parameter's column of the Jacobian is multiplied by before the
    information matrix is judged: a size that never vanishes.  A log-scaled parameter
    (positive) by its value: relative errors.  A linear one by the larger of its value
    and the width of its search space (its bounds, or its starting value when it has
    none): a potential fitted at 0 V (a zero that depends on the reference electrode) or a
    capacitance at 0 on its bound would otherwise make the matrix look singular, and a
    value of 1 in its SI unit (a farad, a metre per second) is no scale at all."""
    out = []
    for par, v in zip(problem.parameters, x):
        out.append(abs(v) if par.log and v > 0 else max(abs(v), par.width))
    return np.asarray(out, float)


def uncertainty(problem: Problem, theta: Mapping[str, float], loss: float, J_unit: np.ndarray, s: np.ndarray):
    """Gauss-Newton standard errors and correlations at the optimum, and warnings.

    ``J_unit`` is the Jacobian of the residuals in the unit box at ``s`` (the optimizer's
    last one), turned here into one per SI unit of every parameter.  The covariance is
    sigma^2 (J^T J)^-1 with sigma^2 = loss / (n - p), computed from the singular values of
    J with its columns scaled (:func:`_scales`).  Directions with no singular value above
    rounding (J has no component along them) are left out of the inverse; a parameter
    with a component along one is not determined by the data at all: its standard error
    is ``inf`` and its correlations ``nan`` (a pseudo-inverse would report 0)."""
    names = problem.names
    p, n = len(names), problem.n_points
    x = np.asarray([theta[k] for k in names])
    J = np.asarray(J_unit) / np.array([par.slope(s[i]) for i, par in enumerate(problem.parameters)])
    sigma2 = loss / max(n - p, 1)
    scale = _scales(problem, x)
    Js = J * scale
    info = Js.T @ Js
    warnings = []
    evals, evecs = np.linalg.eigh(info)
    cond = evals[-1] / max(evals[0], 1e-300)
    _, sv, vt = np.linalg.svd(Js, full_matrices=False)
    rank_tol = (sv[0] if sv.size else 0.0) * max(Js.shape) * np.finfo(float).eps
    kept = sv > rank_tol
    if sv.size == 0 or sv[0] <= 0:
        kept[:] = False
    V = vt.T
    cov_s = (V[:, kept] / sv[kept] ** 2) @ V[:, kept].T * sigma2
    null = V[:, ~kept]
    # A parameter along a direction the data do not see: its variance is unbounded.
    undetermined = np.sqrt(np.sum(null**2, axis=1)) > 1e-6 if null.size else np.zeros(p, bool)
    cov = cov_s * np.outer(scale, scale)
    se = np.sqrt(np.clip(np.diag(cov), 0, None))
    with np.errstate(invalid="ignore", divide="ignore"):
        corr = cov / np.outer(se, se)
    se[undetermined] = np.inf
    corr[undetermined, :] = np.nan
    corr[:, undetermined] = np.nan
    if not np.isfinite(cond) or cond > 1e10 or evals[0] <= 0 or undetermined.any():
        v = np.abs(evecs[:, 0])
        involved = [names[i] for i in np.argsort(-v) if v[i] > 0.3] or [names[int(np.argmax(v))]]
        involved += [names[i] for i in np.flatnonzero(undetermined) if names[i] not in involved]
        warnings.append(warning(
            f"the data hardly determine {', '.join(involved)}: the information matrix is near singular "
            f"(condition number {cond:.2g}); their standard errors are not meaningful",
            None, "e.g. k0 and alpha of a reversible wave, or a rate constant outside the kinetic window"))
        if undetermined.any():
            which = [names[i] for i in np.flatnonzero(undetermined)]
            warnings.append(warning(
                f"the data do not determine {', '.join(which)} at all (the fitted curves do not change with "
                f"{'it' if len(which) == 1 else 'them'}): standard error reported as inf, correlations as nan",
                None, "leave it out of the fit, or add data it affects"))
    for i in range(p):
        for j in range(i + 1, p):
            if np.isfinite(corr[i, j]) and abs(corr[i, j]) > 0.98:
                warnings.append(warning(f"{names[i]} and {names[j]} are strongly correlated ({corr[i, j]:+.3f})"))
    return se, corr, warnings


def _curves(problem: Problem, theta, pred=None) -> dict:
    """Data and fit of every data set; ``pred``, the fitted values if already known."""
    if pred is None:
        pred = problem.predictions({k: jnp.asarray(v) for k, v in theta.items()})
    out = {}
    for e, d in problem.datasets.items():
        out[e] = dict(x=np.asarray(d.x), data=np.asarray(d.y), fit=np.asarray(pred[e]), kind=d.kind,
                      observable=d.observable)
        if d.kind in ("profile", "velocity"):
            out[e]["position"] = np.asarray(d.position)
    return out


def fit(source, data: Mapping[str, object], fit: Sequence[str] | None = None, method: str = "lm",
        starts: int = 1, bounds: Mapping[str, tuple[float, float]] | None = None,
        log: Mapping[str, bool] | None = None, options: Options | None = None, max_iter: int | None = None,
        seed: int = 0, progress: bool | None = None, weighting: str = "max", **option_changes) -> FitResult:
    """Fit the parameters of a model to measured curves.

    Arguments:
        source: a path to a ``.mech`` file or a loaded model.
        data: experiment name -> CSV path (or a dict of SI arrays ``{"E": ..., "I": ...}``).
        fit: names to fit (as ``sim(params)`` takes them); default every ``param`` with bounds.
        method: ``"lm"`` (Levenberg-Marquardt, default), ``"lbfgs"`` or ``"adam"``.
        starts: number of starting points (the file's values, then uniform draws inside
            the bounds), run as one batched computation; the best is kept.
        bounds, log: override the file's search space of a parameter (SI).
        weighting: what each residual I_sim - I_data is divided by: ``"max"`` (default),
            the largest measured |I| of its experiment; ``"relative"``, the point's own
            measured |I| (relative errors, for data spanning decades of current).
        options, **option_changes: solver options of the simulations.

    Returns:
        A :class:`FitResult`.

    Raises:
        MechError: bad files, bad data, unknown names; SolverError if the simulation at
        the optimum fails.
    """
    jax.config.update("jax_enable_x64", True)
    if method not in METHODS:
        raise ModelError(error(f"unknown method '{method}': use one of {', '.join(METHODS)}"))
    if not isinstance(source, ir.Model):
        from mechlang import load

        source = load(source)
    opts = (options or Options()).with_(**option_changes)
    t0 = time.perf_counter()
    problem = Problem(source, data, fit, bounds, log, opts, weighting)
    s0 = problem.random_starts(max(int(starts), 1), seed)
    if method == "lm":
        out = lm(problem, s0, max_iter=max_iter or 100, progress=progress)
    else:
        out = first_order(problem, s0, method, max_iter=max_iter or 500, progress=progress)
    return _result(problem, out, list(range(len(out.loss))), method, t0)


def data_notes(datasets) -> list[str]:
    """One sentence per data set that lost rows in its alignment with the programme."""
    from mechlang.inverse.data import left_out_sentence

    return [text for text in (left_out_sentence(d) for d in datasets.values()) if text]


def _spread(starts: list[dict], names, best_loss: float) -> tuple[dict, int, int]:
    """(spread, converged starts, starts within 1 % of the best loss) of a multi-start fit:
    see :class:`FitResult`."""
    converged = [st for st in starts if st["converged"] and np.isfinite(st["loss"])]
    at_best = sum(1 for st in starts if np.isfinite(st["loss"]) and st["loss"] <= best_loss * 1.01 + 1e-300)
    spread = {}
    if len(starts) > 1 and converged:
        for k in names:
            vals = np.array([st["values"][k] for st in converged])
            spread[k] = {"min": float(vals.min()), "max": float(vals.max()), "std": float(np.std(vals))}
    return spread, len(converged), at_best


def _result(problem: Problem, out, members, method: str, t0: float, y=None, share: int = 1,
            datasets=None) -> FitResult:
    """The FitResult of the best of ``members`` (indices into the batch ``out``);
    ``share`` divides the batch's simulation counts among that many independent fits;
    ``datasets``, the aligned data fitted (default: the problem's own)."""
    best = min(members, key=lambda k: out.loss[k])
    s_best = out.s[best]
    theta = {p.name: float(p.from_unit(s_best[i])) for i, p in enumerate(problem.parameters)}
    if out.ok is None or not bool(out.ok[best]):
        problem.check_simulations(theta)  # raises SolverError saying what failed
    loss = float(out.loss[best])
    notes = data_notes(problem.datasets if datasets is None else datasets)
    se, corr, warns = uncertainty(problem, theta, loss, out.J[best], s_best)
    warns = [warning(text) for text in notes] + warns
    for i, p in enumerate(problem.parameters):
        if p.bounded and (s_best[i] < 1e-6 or s_best[i] > 1 - 1e-6):
            if p.default_bounds:
                warns.append(warning(
                    f"{p.name} ended at a bound of its default search space ({theta[p.name]:.4g} {p.unit}; "
                    f"{p.lo:.4g} .. {p.hi:.4g} {p.unit}, a factor 1000 either side of its starting value)",
                    None, f"give {p.name} bounds (`in [lo, hi]` in the file, or bounds=) to search further"))
            else:
                warns.append(warning(f"{p.name} ended at a bound of its search space ({theta[p.name]:.4g} {p.unit})"))
    names = problem.names
    aic, bic = information_criteria(loss, problem.n_points, len(names))
    starts = [{"values": {p.name: float(p.from_unit(out.s[k][i])) for i, p in enumerate(problem.parameters)},
               "loss": float(out.loss[k]), "converged": bool(out.converged[k])} for k in members]
    spread, n_converged, n_at_best = _spread(starts, names, loss)
    fitted = None if out.r is None else problem.curves_from_residuals(out.r[best], y)
    curves = _curves(problem, theta, fitted)
    if y is not None:  # another data set on the same points: show its data
        offset = 0
        for e, c in curves.items():
            n = len(c["data"])
            c["data"] = np.asarray(y[offset:offset + n]) * problem.scales[e]
            offset += n
    return FitResult(
        values=theta,
        stderr={k: float(se[i]) for i, k in enumerate(names)},
        correlation={a: {b: float(corr[i, j]) for j, b in enumerate(names)} for i, a in enumerate(names)},
        loss=loss,
        n_simulations=out.n_sim // share,
        n_gradients=out.n_grad // share,
        wall_time=(time.perf_counter() - t0) / share,
        converged=bool(out.converged[best]),
        history=[float(np.nanmin(np.asarray(h)[members])) for h in out.history],
        method=method,
        n_points=problem.n_points,
        units={p.name: p.unit for p in problem.parameters},
        aic=float(aic),
        bic=float(bic),
        starts=starts,
        spread=spread,
        warnings=warns,
        file=str(problem.model.file),
        curves=curves,
        weighting=problem.weighting,
        data_notes=notes,
        n_converged_starts=n_converged,
        n_starts_at_best=n_at_best,
    )


def fit_many(source, datasets: Sequence[Mapping[str, object]], fit: Sequence[str] | None = None,
             bounds=None, log=None, options: Options | None = None, max_iter: int = 100,
             progress: bool | None = None, **option_changes) -> list[FitResult]:
    """Fit many data sets recorded on the same points (repeats, electrodes, noise
    realisations) independently, as one batched Levenberg-Marquardt run: one compiled
    simulation serves them all, and the batch is sharded over the devices.

    Arguments:
        datasets: a list of ``data`` mappings as :func:`fit` takes; every data set must
            keep the same potentials (sweeps) or times (transients) as the first.

    Returns:
        One :class:`FitResult` per data set (wall time and simulation counts are shares
        of the batch).
    """
    jax.config.update("jax_enable_x64", True)
    if not isinstance(source, ir.Model):
        from mechlang import load

        source = load(source)
    opts = (options or Options()).with_(**option_changes)
    t0 = time.perf_counter()
    problem = Problem(source, datasets[0], fit, bounds, log, opts)
    ys = [problem.y]
    aligned = [problem.datasets]
    for n, data in enumerate(datasets[1:], 2):
        for name in data:
            if name not in problem.sims:
                raise DataError(error(f"data set {n}: experiment '{name}' is not in the first data set"))
        loaded = problem.load(data)
        if set(loaded) != set(problem.datasets):
            raise DataError(error(f"data set {n} must have data for the same experiments as the first"))
        for label, ds in loaded.items():
            ref = problem.datasets[label]
            same = ds.x.shape == ref.x.shape and np.allclose(ds.x, ref.x, rtol=1e-9, atol=1e-12)
            if same and ds.position is not None:
                same = ref.position is not None and np.allclose(ds.position, ref.position, rtol=1e-9, atol=1e-15)
            if not same or ds.observable != ref.observable:
                raise DataError(error(
                    f"data set {n}, experiment '{ds.experiment}' ({ds.source}): its points differ from the first "
                    "data set's; fit_many needs every data set on the same potentials or times (use fit for each)"))
        ys.append(problem.scaled(loaded))
        aligned.append(loaded)
    start = problem.clip(problem.start())
    out = lm(problem, np.repeat(start[None], len(ys), 0), max_iter=max_iter, progress=progress, data=np.stack(ys))
    return [_result(problem, out, [i], "lm", t0, y=ys[i], share=len(ys), datasets=aligned[i])
            for i in range(len(ys))]


def profile(source, data, name: str, values: Sequence[float], fit: Sequence[str] | None = None, **kwargs):
    """Profile likelihood of one parameter: the best loss with ``name`` held at each value
    and the other fitted parameters refitted.  Returns (values, losses)."""
    from mechlang import load

    model = source if isinstance(source, ir.Model) else load(source)
    others = [k for k in (fit or Problem(model, data, None).names) if k != name]
    losses = []
    for v in values:
        fixed = _with_value(model, name, float(v))
        losses.append(globals()["fit"](fixed, data, fit=others, **kwargs).loss)
    return np.asarray(values, float), np.asarray(losses)


def _with_value(model: ir.Model, name: str, value: float) -> ir.Model:
    import dataclasses

    import sympy

    vname = name if name in model.values else None
    if vname is None:
        raise ModelError(error(f"cannot profile '{name}': profile a parameter, species property or step value"))
    values = dict(model.values)
    values[vname] = dataclasses.replace(values[vname], expr=sympy.Float(value))
    return dataclasses.replace(model, values=values)


@dataclass
class Comparison:
    ranking: list[dict]  # best first: file, aic, bic, delta_aic, delta_bic, loss, parameters
    fits: dict  # file -> FitResult

    @property
    def data_notes(self) -> list[str]:
        """The data rows left out, one sentence per data set (each fit's, without repeats)."""
        return list(dict.fromkeys(text for r in self.fits.values() for text in r.data_notes))

    def report(self) -> dict:
        return {"ranking": self.ranking, "data_notes": self.data_notes}


def compare(sources: Sequence, data: Mapping[str, object], fit: Mapping[str, Sequence[str]] | None = None,
            **kwargs) -> Comparison:
    """Fit each candidate mechanism to the same data and rank them by AIC (then BIC)."""
    fits = {}
    for src in sources:
        key = str(src.file if isinstance(src, ir.Model) else src)
        names = (fit or {}).get(key) if isinstance(fit, Mapping) else fit
        fits[key] = globals()["fit"](src, data, fit=names, **kwargs)
    best_aic = min(r.aic for r in fits.values())
    best_bic = min(r.bic for r in fits.values())
    ranking = sorted(
        ({"file": k, "aic": r.aic, "bic": r.bic, "delta_aic": r.aic - best_aic, "delta_bic": r.bic - best_bic,
          "loss": r.loss, "n_parameters": len(r.values),
          "parameters": {n: {"value": r.values[n], "stderr": r.stderr[n], "unit": r.units.get(n, "")}
                         for n in r.values}}
         for k, r in fits.items()),
        key=lambda e: (e["aic"], e["bic"]),
    )
    return Comparison(ranking, fits)


__all__ = ["fit", "fit_many", "compare", "profile", "FitResult", "Comparison", "information_criteria"]
