"""Physical constants (CODATA 2018, exact SI definitions)."""

F = 96485.33212  # C/mol
R = 8.314462618  # J/(mol K)
N_A = 6.02214076e23  # 1/mol
EPSILON_0 = 8.8541878128e-12  # F/m, the vacuum permittivity
k_B = R / N_A  # J/K
e = F / N_A  # C
c_standard = 1000.0  # mol/m^3: the standard concentration 1 mol/L, what a solid (unit activity) stands for in a rate law
