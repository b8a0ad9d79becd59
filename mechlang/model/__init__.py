"""The mechanism model (IR), its units, and the pass that builds it from the AST."""

from mechlang.model.build import load, load_string

__all__ = ["load", "load_string"]
