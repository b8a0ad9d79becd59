"""The cell's potential of transport concentrated (a salt with a conductivity kappa).

Both Li electrodes are in equilibrium with the salt at their surface; E, the left electrode
against the right, is the drop of the potential measured with Li along the electrolyte,
dPhi/dx = -i/kappa + (2RT/F)(1 - t+) tdf dln c/dx, plus I Ru.  Checked against:
- the closed-form series of galvanostatic polarization (constant coefficients): E(t) =
  i L/kappa + (2RT/F)(1 - t+) tdf ln(c(0, t)/c(L, t)) with c from the series;
- the steady state with kappa proportional to c, where the ohmic drop is the closed form
  (i / (k g)) ln(c(0)/c(L)) of the linear profile (slope -g);
- Ru adding I Ru exactly; gradients against finite differences; a fit recovering kappa
  and tdf from a noisy potential transient within its standard errors.
"""

import numpy as np
import pytest

import mechlang
from mechlang.errors import MechError

F = 96485.33212
R = 8.314462618
T = 298.15

CELL = """
mechanism sym "Binary salt, symmetric cell, with its potential"
transport concentrated
param D0 = 1e-7 cm^2/s
param a = 0.3
param c_avg = 1 M
param kap0 = 1 mS/cm  in [0.1 mS/cm, 10 mS/cm] log
param gam = 0
param thf = 1.5  in [0.5, 3]
species LiX: c = 1 M, D = D0, t_plus = a,
    kappa = kap0 * (1 + gam * ([LiX] - c_avg) / c_avg), tdf = thf
experiment pol {
  technique = galvanostatic
  geometry = symmetric_cell(L = 0.5 mm)
  current_density = 0.1 mA/cm^2
  duration = 1 h
  Ru = 0 ohm
}
"""
I_DENS, L, D, TP, C0 = 1.0, 5e-4, 1e-11, 0.3, 1000.0  # SI


@pytest.fixture(scope="module")
def sim():
    return mechlang.compile(mechlang.load_string(CELL), points=81, ca_steps=120)


def series_ends(t, terms=400):
    """c(0, t) and c(L, t) of galvanostatic polarization, constant D and t+."""
    g = I_DENS * (1 - TP) / (F * D)
    n = np.arange(1, 2 * terms, 2)
    w = (4 * g * L / (n**2 * np.pi**2)) * np.exp(-(n * np.pi / L) ** 2 * D * t)
    return C0 + g * L / 2 - w.sum(), C0 - g * L / 2 + w.sum()


def test_transient_against_the_series(sim):
    r = sim()
    t, E = np.asarray(r.t), np.asarray(r.E)
    kappa, tdf = 0.1, 1.5
    for k in (0, 30, 80, 119):
        c_left, c_right = series_ends(t[k])
        exact = I_DENS * L / kappa + 2 * R * T / F * (1 - TP) * tdf * np.log(c_left / c_right)
        assert E[k] == pytest.approx(exact, rel=2e-3, abs=2e-5), (k, t[k])
    # the ohmic drop at once, then the concentration overpotential grows to four times it
    assert E[0] == pytest.approx(I_DENS * L / kappa, rel=0.02)
    assert E[-1] > 3.5 * I_DENS * L / kappa


def test_steady_state_with_kappa_proportional_to_c(sim):
    r = sim({"gam": 1.0, "thf": 1.0, "duration": 40 * 3600.0})
    g = I_DENS * (1 - TP) / (F * D)  # the profile's slope (mol/m^4)
    c_left, c_right = C0 + g * L / 2, C0 - g * L / 2
    k = 0.1 / C0  # kappa = k c
    ohmic = I_DENS / (k * g) * np.log(c_left / c_right)
    diffusion = 2 * R * T / F * (1 - TP) * np.log(c_left / c_right)
    assert float(r.E[-1]) == pytest.approx(ohmic + diffusion, rel=1e-4)
    # the same current through a uniform 1 M salt would cost less: the depleted side resists
    assert ohmic > I_DENS * L / 0.1


def test_ru_adds_i_ru(sim):
    base, with_ru = sim(), sim({"Ru": 25.0})
    I = np.asarray(base.I)  # noqa: E741
    assert np.allclose(np.asarray(with_ru.E) - np.asarray(base.E), I * 25.0, rtol=1e-12, atol=1e-15)


def test_gradients_match_finite_differences(sim):
    import jax

    names = ("kap0", "thf", "gam", "Ru")
    base = {"kap0": 0.1, "thf": 1.5, "gam": 0.5, "Ru": 10.0}

    def final_E(p):
        return sim(p).E[-1]

    grad = jax.grad(final_E)(base)
    for name in names:
        h = 1e-6 * max(abs(base[name]), 1.0)
        up, down = dict(base), dict(base)
        up[name] += h
        down[name] -= h
        fd = (float(final_E(up)) - float(final_E(down))) / (2 * h)
        assert float(grad[name]) == pytest.approx(fd, rel=1e-5, abs=1e-12), name


def test_fit_recovers_kappa_and_tdf(sim, tmp_path):
    truth = {"kap0": 0.25, "thf": 1.8}
    r = sim(truth)
    t, E = np.asarray(r.t), np.asarray(r.E)
    rng = np.random.default_rng(4)
    noisy = E + 2e-5 * rng.standard_normal(E.size)  # 20 uV
    path = tmp_path / "potential.csv"
    path.write_text("t [s],E [V]\n" + "".join(f"{a:.9g},{b:.9g}\n" for a, b in zip(t, noisy)))
    text = CELL.replace("param kap0 = 1 mS/cm", "param kap0 = 1.5 mS/cm").replace("param thf = 1.5", "param thf = 1.1")
    model = tmp_path / "cell.mech"
    model.write_text(text)
    res = mechlang.fit(model, data={"pol": path}, fit=["kap0", "thf"], points=81, ca_steps=120,
                       progress=False)
    assert res.converged
    for name, value in truth.items():
        assert abs(res.values[name] - value) < 3 * res.stderr[name], (name, res.values[name], res.stderr[name])
        assert res.stderr[name] < 0.02 * value


@pytest.mark.parametrize("edit, message", [
    (("transport concentrated", "transport diffusion"), "belongs to 'transport concentrated'"),
    (("kappa = kap0 *", "kappa = 1e-7 cm^2/s *"), "`kappa` must be conductance/length, got length^2/time"),
    (("kappa = kap0 *", "kappa = -kap0 *"), "kappa of species 'LiX' is -0.1 S/m"),
    ((", tdf = thf", ", tdf = -thf"), "tdf of species 'LiX' is -1.5"),
    (("Ru = 0 ohm", "Cdl = 1 uF"), "double-layer capacitance (Cdl) is not supported with transport concentrated"),
])
def test_errors(edit, message):
    with pytest.raises(MechError) as err:
        mechlang.load_string(CELL.replace(*edit))
    assert message in str(err.value)


def test_without_kappa_no_potential_and_its_errors():
    """(Potential data without kappa are an error too: tests/test_data.py.)"""
    plain = CELL.replace(",\n    kappa = kap0 * (1 + gam * ([LiX] - c_avg) / c_avg), tdf = thf", "")
    model = mechlang.load_string(plain.replace("Ru = 0 ohm", ""))
    assert not model.computes_potential
    assert not np.any(np.asarray(mechlang.compile(model, points=21, ca_steps=10)().E))
    with pytest.raises(MechError) as err:
        mechlang.load_string(plain.replace("Ru = 0 ohm", "Ru = 2 ohm"))
    assert "needs the salt's conductivity" in str(err.value) and ":16:8:" in str(err.value)
    with pytest.raises(MechError) as err:
        mechlang.load_string(plain.replace("t_plus = a", "t_plus = a, tdf = 2").replace("Ru = 0 ohm", ""))
    assert "thermodynamic factor of 'LiX' enters only the cell's potential" in str(err.value)


def test_simulate_writes_the_potential(tmp_path, capsys):
    from mechlang.cli.main import main

    path = tmp_path / "cell.mech"
    path.write_text(CELL)
    csv = tmp_path / "cell.csv"
    assert main(["simulate", str(path), "--points", "41", "-o", str(csv)]) == 0
    assert "t [s], E [V], I [A]" in capsys.readouterr().err
    data = np.loadtxt(csv, delimiter=",", skiprows=1)
    assert csv.read_text().splitlines()[0] == "t,E,I"
    assert data[0, 1] == pytest.approx(I_DENS * L / 0.1, rel=0.02)  # the ohmic drop, V
