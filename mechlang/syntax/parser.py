"""Text -> AST: the Lark grammar, the line-structure post-lexer, and the Transformer.

The Transformer only builds nodes (it never raises: an exception raised inside a
Lark Transformer would arrive wrapped in ``VisitError``); meaning is checked later
by :mod:`mechlang.model.build`.  Grammar errors become :class:`MechSyntaxError`
with a span and a message that says what was expected.
"""

from __future__ import annotations

import re
import threading
from functools import lru_cache
from pathlib import Path

from lark import Lark, Token, Transformer, v_args
from lark.exceptions import UnexpectedCharacters, UnexpectedInput, UnexpectedToken
from lark.lark import PostLex

from mechlang.errors import MechSyntaxError, Span, error
from mechlang.syntax import ast

__all__ = ["parse", "parse_file", "grammar_path"]


def grammar_path() -> Path:
    """Where ``mechlang.lark`` is: inside an installed wheel, or in the source tree."""
    here = Path(__file__).resolve()
    candidates = [
        here.parent.parent / "_data" / "grammar" / "mechlang.lark",
        here.parents[2] / "grammar" / "mechlang.lark",
    ]
    for path in candidates:
        if path.is_file():
            return path
    raise FileNotFoundError("mechlang.lark not found; looked in " + ", ".join(map(str, candidates)))


# Tokens after which a line end does not end the statement.
_CONTINUATION = {",", "(", "[", "{", "+", "-", "*", "/", "^", "**", "=", ";", ":", "->", "<=>"}
_OPENERS = {"(": ")", "[": "]", "{": "}"}
_CLOSERS = {v: k for k, v in _OPENERS.items()}


class _Lines(PostLex):
    """Line structure: statements end at a line end, except after a continuation token.

    Drops leading and repeated line ends and those after a continuation token, and
    makes sure the input ends with one.
    """

    always_accept = ("_NL",)

    def process(self, stream):
        prev = None
        for tok in stream:
            if tok.type == "_NL":
                if prev is None or prev.type == "_NL":
                    continue
                if prev.type not in ("STRING", "NAME", "NUMBER", "UNIT") and prev.value in _CONTINUATION:
                    continue
            yield tok
            prev = tok
        if prev is not None and prev.type != "_NL":
            yield Token(
                "_NL",
                "",
                start_pos=prev.end_pos,
                line=prev.end_line,
                column=prev.end_column,
                end_line=prev.end_line,
                end_column=prev.end_column,
                end_pos=prev.end_pos,
            )


_LOCK = threading.Lock()


@lru_cache(maxsize=1)
def _lark() -> Lark:
    with _LOCK:
        return Lark(
            grammar_path().read_text(encoding="utf-8"),
            parser="lalr",
            lexer="contextual",
            postlex=_Lines(),
            propagate_positions=True,
            maybe_placeholders=False,
        )


# -- the Transformer ---------------------------------------------------------------------

_VALID_NUMBER = re.compile(r"(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")


def _tok_span(file: str, tok: Token) -> Span:
    return Span(file, tok.line, tok.column, tok.end_line, tok.end_column)


def _join(a: Span, b: Span) -> Span:
    return Span(a.file, a.line, a.column, b.end_line, b.end_column)


@v_args(meta=True)
class _ToAST(Transformer):
    def __init__(self, file: str):
        super().__init__()
        self.file = file
        self.errors = []

    def _span(self, meta) -> Span:
        if getattr(meta, "empty", True):
            return Span(self.file)
        return Span(self.file, meta.line, meta.column, meta.end_line, meta.end_column)

    def _number(self, tok: Token) -> None:
        if not _VALID_NUMBER.fullmatch(tok.value):
            self.errors.append(error(f"malformed number '{tok.value}'", _tok_span(self.file, tok)))

    # statements
    def start(self, meta, children):
        return ast.File(self.file, tuple(children))

    def ident(self, meta, children):
        (tok,) = children
        return ast.Ident(str(tok), _tok_span(self.file, tok))

    def mechanism(self, meta, children):
        name = children[0]
        desc = children[1][1:-1] if len(children) > 1 else None
        return ast.Mechanism(name, desc, self._span(meta))

    def use(self, meta, children):
        (tok,) = children
        return ast.Use(tok[1:-1], self._span(meta))

    def species(self, meta, children):
        surface = False
        if isinstance(children[0], Token) and children[0].type == "SURFACE":
            surface = True
            children = children[1:]
        names = tuple(c for c in children if isinstance(c, ast.Ident))
        props = tuple(c for c in children if isinstance(c, ast.Assign))
        flags = tuple(c[1] for c in children if isinstance(c, tuple) and c[0] == "flag")
        return ast.SpeciesDecl(names, props, surface, self._span(meta), flags)

    def site(self, meta, children):
        return ast.SiteDecl(children[0], tuple(children[1:]), self._span(meta))

    def species_flag(self, meta, children):
        return ("flag", children[0])

    def assign(self, meta, children):
        name, value = children
        return ast.Assign(name, value, self._span(meta))

    def bounds(self, meta, children):
        lo, hi = children
        return ("bounds", lo, hi, self._span(meta))

    def param(self, meta, children):
        name, value = children[0], children[1]
        bounds = None
        bounds_span = None
        log = False
        for c in children[2:]:
            if isinstance(c, tuple) and c[0] == "bounds":
                bounds = (c[1], c[2])
                bounds_span = c[3]
            elif isinstance(c, Token) and c.type == "LOG":
                log = True
        return ast.Param(name, value, bounds, log, self._span(meta), bounds_span)

    def law_params(self, meta, children):
        return tuple(children)

    def law(self, meta, children):
        name, params, *body = children
        return ast.LawDecl(name, params, tuple(body), self._span(meta))

    def transport(self, meta, children):
        laws = tuple(c.func if isinstance(c, ast.Call) else c for c in children)
        calls = tuple(c for c in children if isinstance(c, ast.Call))
        return ast.Transport(laws, self._span(meta), calls)

    def experiment(self, meta, children):
        name, *entries = children
        return ast.ExperimentDecl(name, tuple(entries), self._span(meta))

    # reactions
    def term(self, meta, children):
        coef = None
        if len(children) == 2:
            self._number(children[0])
            coef = ast.Number(str(children[0]), None, _tok_span(self.file, children[0]))
        tok = children[-1]
        return ast.Term(coef, str(tok), self._span(meta))

    def side(self, meta, children):
        return tuple(children)

    def reaction(self, meta, children):
        label = None
        if isinstance(children[0], ast.Ident):
            label, children = children[0], children[1:]
        lhs, arrow, rhs, kinetics = children
        eq = _join(lhs[0].span, rhs[-1].span)
        return ast.Reaction(label, lhs, str(arrow), rhs, kinetics, self._span(meta), eq)

    def law_kinetics(self, meta, children):
        (call,) = children
        return ast.LawKinetics(call, self._span(meta))

    def mass_action(self, meta, children):
        return ast.MassActionKinetics(tuple(children), self._span(meta))

    # expressions
    def number(self, meta, children):
        (tok,) = children
        self._number(tok)
        return ast.Number(str(tok), None, self._span(meta))

    def quantity(self, meta, children):
        num, unit = children
        self._number(num)
        return ast.Number(str(num), str(unit).strip(), self._span(meta), _tok_span(self.file, unit))

    def name(self, meta, children):
        (tok,) = children
        return ast.Name(str(tok), self._span(meta))

    def conc(self, meta, children):
        (tok,) = children
        return ast.Conc(str(tok), self._span(meta))

    def _bin(op):
        def method(self, meta, children):
            left, right = children[0], children[-1]
            return ast.BinOp(op, left, right, self._span(meta))

        return method

    add = _bin("+")
    sub = _bin("-")
    mul = _bin("*")
    div = _bin("/")
    pow = _bin("^")
    del _bin

    def neg(self, meta, children):
        return ast.UnaryOp("-", children[0], self._span(meta))

    def pos(self, meta, children):
        return ast.UnaryOp("+", children[0], self._span(meta))

    def kwarg(self, meta, children):
        name_tok, value = children
        return ast.Keyword(ast.Ident(str(name_tok), _tok_span(self.file, name_tok)), value, self._span(meta))

    def call(self, meta, children):
        func_tok, *rest = children
        func = ast.Ident(str(func_tok), _tok_span(self.file, func_tok))
        args = tuple(c for c in rest if not isinstance(c, ast.Keyword))
        kwargs = tuple(c for c in rest if isinstance(c, ast.Keyword))
        return ast.Call(func, args, kwargs, self._span(meta))


# -- errors ------------------------------------------------------------------------------

_DESCRIPTIONS = {
    "NAME": "a name",
    "NUMBER": "a number",
    "UNIT": "a unit",
    "STRING": 'a "quoted string"',
    "_NL": "end of line",
    "$END": "end of file",
    "ELECTRON": "'e-'",
    "ARROW": "an arrow ('->' or '<=>')",
    "POW": "'^'",
}

_STATEMENT_WORDS = ("mechanism", "use", "species", "site", "param", "law", "transport", "experiment")


def _describe_expected(name: str) -> str:
    if name in _DESCRIPTIONS:
        return _DESCRIPTIONS[name]
    try:
        pattern = _lark().get_terminal(name).pattern
    except KeyError:
        return name
    if pattern.type == "str":
        return f"'{pattern.value}'"
    return name.lower()


def _describe_found(tok: Token) -> str:
    if tok.type in ("_NL", "$END"):
        return _DESCRIPTIONS[tok.type]
    if tok.type == "NUMBER":
        return f"number '{tok.value}'"
    if tok.type == "STRING":
        return f"string {tok.value}"
    return f"'{tok.value}'"


def _order(name: str) -> tuple:
    desc = _describe_expected(name)
    first = ("')'", "']'", "'}'", "','", "end of line")
    return (first.index(desc) if desc in first else len(first), not desc.startswith("'"), desc)


def _syntax_error(e: UnexpectedToken, file: str, stack: list[Token], text: str, ip, last) -> MechSyntaxError:
    tok = e.token
    found = _describe_found(tok)
    try:
        # LALR merges lookaheads of similar states: ask the parser what really fits here.
        accepted = set(ip.accepts())
    except Exception:  # pragma: no cover - fall back to lark's own (larger) set
        accepted = set()
    expected = sorted(accepted or set(e.expected), key=_order)
    words = {_describe_expected(n).strip("'") for n in expected}
    if tok.type in ("_NL", "$END") and not getattr(tok, "line", None):
        lines = text.splitlines() or [""]
        tok = Token(tok.type, "", line=len(lines), column=len(lines[-1]) + 1)
    span = Span(file, tok.line or 1, tok.column or 1, tok.end_line or tok.line or 1, tok.end_column or tok.column or 1)
    if tok.type in ("_NL", "$END"):
        span = Span(file, span.line, span.column)
    notes = []
    if stack and tok.type in ("_NL", "$END") and _OPENERS[stack[-1].value] in words:
        opener = stack[-1]
        closer = _OPENERS[opener.value]
        where = "the line" if tok.type == "_NL" else "the file"
        message = f"unclosed '{opener.value}': expected '{closer}' before the end of {where}"
        if tok.type == "$END":
            span = _tok_span(file, opener)
        elif opener.line != span.line:
            notes.append(f"the '{opener.value}' is at line {opener.line}, column {opener.column}")
    elif set(_STATEMENT_WORDS) <= words:
        message = f"expected a statement (species, param, a reaction, law, experiment, ...), found {found}"
    else:
        described = [_describe_expected(n) for n in expected]
        operators = {"'+'", "'-'", "'*'", "'/'", "'^'"}
        if operators <= set(described):
            described = [d for d in described if d not in operators] + ["an operator"]
        if len(described) > 6:
            described = described[:5] + ["..."]
        if len(described) == 1:
            alts = described[0]
        else:
            alts = ", ".join(described[:-1]) + " or " + described[-1]
        message = f"expected {alts}, found {found}"
        if tok.type == "_NL" and stack and _OPENERS[stack[-1].value] in words:
            message = f"unclosed '{stack[-1].value}': " + message
    if last is not None and last.type == "UNIT" and re.search(r"\s", last.value.strip()):
        notes.append(
            f"'{last.value.strip()}' was read as one unit: a name right after a number belongs to "
            "its unit; separate entries with ',' and write products as 2*x"
        )
    return MechSyntaxError(error(message, span, *notes))


def _lex_error(e: UnexpectedCharacters, file: str) -> MechSyntaxError:
    span = Span(file, e.line, e.column, e.line, e.column + 1)
    if e.char == '"':
        return MechSyntaxError(error('unterminated string: expected a closing \'"\' on the same line', span))
    if e.char == "\\":
        return MechSyntaxError(error("'\\' continues a statement only at the end of a line", span))
    return MechSyntaxError(error(f"unexpected character '{e.char}'", span))


# -- entry points ------------------------------------------------------------------------


def parse(text: str, file: str = "<string>") -> ast.File:
    """Parse the text of a ``.mech`` file.

    Arguments:
        text: the file's contents.
        file: the name to put in spans and messages.

    Returns:
        The file's :class:`~mechlang.syntax.ast.File`.

    Raises:
        MechSyntaxError: the text does not follow the grammar (one diagnostic, at the
            first mistake), or holds malformed numbers (all of them).
    """
    if text.startswith("\ufeff"):
        text = text[1:]
    stack: list[Token] = []
    last = None
    ip = _lark().parse_interactive(text)
    try:
        for tok in ip.iter_parse():
            last = tok
            if tok.value in _OPENERS and tok.type not in ("STRING", "NAME"):
                stack.append(tok)
            elif tok.value in _CLOSERS and stack and stack[-1].value == _CLOSERS[tok.value]:
                stack.pop()
        tree = ip.feed_eof(last)
    except UnexpectedToken as e:
        raise _syntax_error(e, file, stack, text, ip, last) from None
    except UnexpectedCharacters as e:
        raise _lex_error(e, file) from None
    except UnexpectedInput as e:  # pragma: no cover - other lark input errors
        raise MechSyntaxError(error(f"syntax error: {e}", Span(file, getattr(e, "line", 0), getattr(e, "column", 0)))) from None
    builder = _ToAST(file)
    result = builder.transform(tree)
    if builder.errors:
        raise MechSyntaxError(builder.errors)
    return result


def parse_file(path, display: str | None = None) -> ast.File:
    """Read and parse a file; ``display`` is the name used in messages (default: path).

    Raises:
        OSError: the file cannot be read.
        MechSyntaxError: see :func:`parse`.
    """
    path = Path(path)
    text = path.read_text(encoding="utf-8")
    return parse(text, display if display is not None else str(path))
