"""Physical constants (CODATA 2018, exact SI definitions)."""

F = 96485.33212  # C/mol
R = 8.314462618  # J/(mol K)
N_A = 6.02214076e23  # 1/mol
k_B = R / N_A  # J/K
e = F / N_A  # C
