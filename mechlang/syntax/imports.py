"""``use``: a file and the files it uses -> one set of declarations (still AST).

``use "PATH"`` is resolved relative to the importing file, then in the package's
``mechanisms/`` library, then in each folder of ``MECHLANG_PATH``.  Declarations of
the importing file replace imported ones of the same name (parameters, species,
laws, experiments, labelled steps); unlabelled imported steps are kept; a later
``use`` replaces an earlier one's.  Duplicates within one file, missing files and
import cycles are reported as diagnostics at the ``use``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from mechlang.errors import Diagnostic, Span, error
from mechlang.syntax import ast
from mechlang.syntax.parser import parse

__all__ = ["Declarations", "Loader", "library_dirs"]


def library_dirs() -> list[Path]:
    """Where ``use "..."`` looks after the importing file's folder: the package's
    ``mechanisms/`` library, then each folder of ``MECHLANG_PATH``."""
    here = Path(__file__).resolve()
    dirs = []
    for lib in (here.parent.parent / "_data" / "mechanisms", here.parents[2] / "mechanisms"):
        if lib.is_dir():
            dirs.append(lib)
            break
    for d in os.environ.get("MECHLANG_PATH", "").split(os.pathsep):
        if d.strip():
            dirs.append(Path(d.strip()).expanduser())
    return dirs


def _display(path: Path) -> str:
    try:
        return os.path.relpath(path)
    except ValueError:
        return str(path)


@dataclass
class Declarations:
    """The declarations of a file with its imports merged in."""

    mechanism: ast.Mechanism | None = None
    species: dict = field(default_factory=dict)  # name -> (SpeciesDecl, Ident)
    sites: dict = field(default_factory=dict)  # name -> SiteDecl
    params: dict = field(default_factory=dict)  # name -> Param
    laws: dict = field(default_factory=dict)  # name -> LawDecl
    experiments: dict = field(default_factory=dict)  # name -> ExperimentDecl
    steps: list = field(default_factory=list)  # (label or None, Reaction)
    transport: ast.Transport | None = None

    def update(self, other: "Declarations") -> None:
        """Let ``other``'s declarations replace ours of the same name."""
        if other.mechanism is not None:
            self.mechanism = other.mechanism
        if other.transport is not None:
            self.transport = other.transport
        self.species.update(other.species)
        self.sites.update(other.sites)
        self.params.update(other.params)
        self.laws.update(other.laws)
        self.experiments.update(other.experiments)
        index = {label: i for i, (label, _) in enumerate(self.steps) if label is not None}
        for label, rx in other.steps:
            if label is not None and label in index:
                self.steps[index[label]] = (label, rx)
            else:
                if label is not None:
                    index[label] = len(self.steps)
                self.steps.append((label, rx))


class Loader:
    """Reads files, resolves their ``use`` statements, and collects diagnostics."""

    def __init__(self):
        self.diags: list[Diagnostic] = []
        self.cache: dict[Path, Declarations] = {}

    def load_file(self, real: Path, display: str, chain: tuple[tuple[Path, str], ...]) -> Declarations:
        if real in self.cache:
            return self.cache[real]
        text = real.read_text(encoding="utf-8")
        tree = parse(text, display)
        decls = self.collect(tree, real.parent, chain + ((real, display),))
        self.cache[real] = decls
        return decls

    def collect(self, tree: ast.File, folder: Path, chain) -> Declarations:
        imported = Declarations()
        own = Declarations()
        seen: dict[tuple[str, str], Span] = {}

        def duplicate(kind: str, name: str, span: Span) -> bool:
            key = (kind, name)
            if key in seen:
                self.diags.append(
                    error(f"{kind} '{name}' is declared twice" if name else f"a file takes one {kind}", span,
                          f"first declared at {seen[key]}")
                )
                return True
            seen[key] = span
            return False

        for st in tree.statements:
            if isinstance(st, ast.Use):
                sub = self.resolve_use(st, folder, chain)
                if sub is not None:
                    imported.update(sub)
            elif isinstance(st, ast.Mechanism):
                if not duplicate("mechanism statement", "", st.span):
                    own.mechanism = st
            elif isinstance(st, ast.Transport):
                if not duplicate("transport statement", "", st.span):
                    own.transport = st
            elif isinstance(st, ast.SpeciesDecl):
                for ident in st.names:
                    if not duplicate("species", ident.name, ident.span):
                        own.species[ident.name] = (st, ident)
            elif isinstance(st, ast.SiteDecl):
                if not duplicate("site", st.name.name, st.name.span):
                    own.sites[st.name.name] = st
            elif isinstance(st, ast.Param):
                if not duplicate("parameter", st.name.name, st.name.span):
                    own.params[st.name.name] = st
            elif isinstance(st, ast.LawDecl):
                if not duplicate("law", st.name.name, st.name.span):
                    own.laws[st.name.name] = st
            elif isinstance(st, ast.ExperimentDecl):
                if not duplicate("experiment", st.name.name, st.name.span):
                    own.experiments[st.name.name] = st
            elif isinstance(st, ast.Reaction):
                label = st.label.name if st.label else None
                if label is None or not duplicate("step label", label, st.label.span):
                    own.steps.append((label, st))
        imported.update(own)
        return imported

    def resolve_use(self, st: ast.Use, folder: Path, chain) -> Declarations | None:
        rel = Path(st.path)
        if rel.is_absolute():
            bases = [Path("/")]
        else:
            bases = [folder, *library_dirs()]
        names = [rel] if rel.suffix else [rel, rel.with_suffix(".mech")]
        found = None
        for base in bases:
            for name in names:
                candidate = base / name
                if candidate.is_file():
                    found = candidate
                    break
            if found:
                break
        if found is None:
            looked = ", ".join(_display(b) for b in bases)
            self.diags.append(error(f"cannot find '{st.path}' (looked in {looked})", st.span))
            return None
        real = found.resolve()
        stack = [p for p, _ in chain]
        if real in stack:
            start = stack.index(real)
            names = [d for _, d in chain[start:]] + [chain[start][1]]
            self.diags.append(error("import cycle: " + " -> ".join(names), st.span))
            return None
        try:
            return self.load_file(real, _display(found), chain)
        except OSError as e:
            self.diags.append(error(f"cannot read '{st.path}': {e.strerror or e}", st.span))
            return None
        except UnicodeDecodeError:
            self.diags.append(error(f"cannot read '{st.path}': not UTF-8 text", st.span))
            return None
