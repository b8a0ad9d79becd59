"""The grammar and the parser: text -> AST, with spans, and syntax errors with their line."""

import logging

import pytest
from lark import Lark, logger

from mechlang.errors import MechSyntaxError
from mechlang.syntax import ast, grammar_path, parse
from mechlang.syntax.parser import _Lines


def one(text: str):
    (st,) = parse(text).statements
    return st


def syntax_error(text: str) -> tuple[int, str]:
    with pytest.raises(MechSyntaxError) as info:
        parse(text, "t.mech")
    (d,) = info.value.diagnostics[:1]
    return d.span.line, d.message


def test_grammar_has_no_conflicts(caplog):
    level = logger.level
    logger.setLevel(logging.DEBUG)
    try:
        with caplog.at_level(logging.DEBUG, logger="lark"):
            Lark(grammar_path().read_text(encoding="utf-8"), parser="lalr", lexer="contextual",
                 postlex=_Lines(), propagate_positions=True, maybe_placeholders=False, debug=True)
    finally:
        logger.setLevel(level)
    assert "conflict" not in caplog.text.lower()


def test_every_spec_example_parses(spec_dir):
    files = sorted((spec_dir / "examples").glob("*.mech"))
    assert len(files) >= 9
    for path in files:
        tree = parse(path.read_text(encoding="utf-8"), path.name)
        assert tree.statements, path.name


def test_statements_and_spans():
    tree = parse(
        'mechanism EC "A test"\n'
        "species A: D = 1e-5 cm^2/s, c = 1 mM\n"
        "E1: A + e- <=> B ; butler_volmer(E0 = 0 V, k0 = k0, alpha = 0.5)\n",
        "f.mech",
    )
    mech, species, rx = tree.statements
    assert mech.name.name == "EC" and mech.description == "A test"
    assert species.names[0].name == "A" and species.names[0].span.line == 2
    assert [p.name.name for p in species.props] == ["D", "c"]
    D = species.props[0].value
    assert isinstance(D, ast.Number) and D.text == "1e-5" and D.unit == "cm^2/s"
    assert rx.label.name == "E1" and rx.reversible
    assert [t.name for t in rx.lhs] == ["A", "e-"] and rx.lhs[1].is_electron
    assert isinstance(rx.kinetics, ast.LawKinetics)
    call = rx.kinetics.call
    assert call.func.name == "butler_volmer" and [k.name.name for k in call.kwargs] == ["E0", "k0", "alpha"]
    assert rx.span.file == "f.mech" and rx.span.line == 3 and rx.span.column == 1


def test_units_end_at_keywords_and_numbers_need_an_operator():
    p = one("param k0 = 1e-2 cm/s in [1e-6 cm/s, 10 cm/s] log")
    assert p.value.unit == "cm/s" and p.log
    assert [b.unit for b in p.bounds] == ["cm/s", "cm/s"]
    p = one("param kcat = 1e3 M^-1 s^-1 in [1 M^-1 s^-1, 1e7 M^-1 s^-1]")
    assert p.value.unit == "M^-1 s^-1"
    p = one("param x = 2 inch")
    assert p.value.unit == "inch"
    # `1 / s` stays a division; a product needs '*'
    p = one("param x = 1 / s")
    assert isinstance(p.value, ast.BinOp) and p.value.op == "/"
    p = one("param x = 2*k0")
    assert isinstance(p.value, ast.BinOp) and p.value.op == "*"
    p = one("param y = -0.25 V")
    assert isinstance(p.value, ast.UnaryOp) and p.value.operand.unit == "V"


def test_log_is_a_function_in_expressions_and_a_flag_after_them():
    p = one("param x = 2 * log(3) log")
    assert p.log and isinstance(p.value.right, ast.Call) and p.value.right.func.name == "log"


def test_precedence():
    p = one("param x = -a^2 + b*c/d")
    assert p.value.op == "+"
    neg = p.value.left
    assert isinstance(neg, ast.UnaryOp) and neg.operand.op == "^"
    assert p.value.right.op == "/" and p.value.right.left.op == "*"
    p = one("param x = a ** -2")
    assert p.value.op == "^" and isinstance(p.value.right, ast.UnaryOp)


def test_reactions_coefficients_electrons_and_kinetics():
    rx = one("2 B + A -> C ; k = k2")
    assert rx.label is None and not rx.reversible
    assert rx.lhs[0].coef.text == "2" and rx.lhs[0].name == "B"
    assert isinstance(rx.kinetics, ast.MassActionKinetics)
    rx = one("O + 2 e- <=> R ; nernst(0 V)")
    assert rx.lhs[1].is_electron and rx.lhs[1].coef.text == "2"
    rx = one("C1: R1 <=> O2 ; kf = kc, K = 1e3")
    assert [a.name.name for a in rx.kinetics.entries] == ["kf", "K"]
    rx = one("A -> B ; rate = k * [A]^2")
    rate = rx.kinetics.entries[0].value
    assert isinstance(rate.right.left, ast.Conc) and rate.right.left.species == "A"


def test_line_structure_comments_and_continuations():
    text = """
    # a comment line
    species A: D = 1e-5 cm^2/s,   # continues after a comma
               c = 1 mM

    param x = 1 +
              2
    E1: A + e- <=> B ; butler_volmer(
        E0 = 0 V,
        k0 = 1 cm/s,
        alpha = 0.5
    )
    experiment cv { technique = cv, E_start = 0.5 V
      E_vertex = -0.5 V   # a comment with (parentheses)
      scan_rate = 0.1 V/s }
    law l(a) {
      kred = a
      kox = a
    }
    """
    tree = parse(text)
    kinds = [type(s).__name__ for s in tree.statements]
    assert kinds == ["SpeciesDecl", "Param", "Reaction", "ExperimentDecl", "LawDecl"]
    assert [a.name.name for a in tree.statements[3].entries] == ["technique", "E_start", "E_vertex", "scan_rate"]
    assert [a.name.name for a in tree.statements[4].body] == ["kred", "kox"]


def test_surface_species_transport_and_use_parse():
    tree = parse('use "lib/x.mech"\nsurface species A: Gamma = 1\ntransport diffusion, migration\n')
    use, sp, tr = tree.statements
    assert use.path == "lib/x.mech" and sp.surface and [t.name for t in tr.laws] == ["diffusion", "migration"]


@pytest.mark.parametrize(
    "text, line, fragment",
    [
        ("species O: D = 1\n\nO + e- <=> R ; butler_volmer(0 V, 1e-2 cm/s, 0.5\n\n\n", 3, "expected ')'"),
        ("species O: D = 1\nO + e- <=> R ; butler_volmer(0 V, 1e-2 cm/s, 0.5", 2, "unclosed '('"),
        ("param x = 1.2.3", 1, "malformed number '1.2.3'"),
        ('mechanism x "abc', 1, "unterminated string"),
        ("param x = 1 @ 2", 1, "unexpected character '@'"),
        ("\n\nexperiment cv {\n technique = cv\n", 3, "unclosed '{'"),
        ("A -> B", 1, "expected '+' or ';'"),
        ("param = 3", 1, "expected a name"),
        ("param x = 2 3", 1, "found number '3'"),
        ("species A: D = 1 cm^2/s c = 2", 1, "found '='"),
    ],
)
def test_syntax_errors_name_their_line(text, line, fragment):
    got_line, message = syntax_error(text)
    assert got_line == line and fragment in message, message


def test_a_name_glued_to_a_unit_gets_a_note():
    with pytest.raises(MechSyntaxError) as info:
        parse("species A: D = 1 cm^2/s c = 2")
    assert "read as one unit" in info.value.format()
