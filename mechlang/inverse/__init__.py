"""Inverse problems: measured data, fits of parameters to them, and model comparison."""

from mechlang.inverse.data import Dataset, load_dataset, predict, read_table  # noqa: F401
