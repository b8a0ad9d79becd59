"""Text -> AST: the grammar loader, the parser and the AST node classes."""

from mechlang.syntax.parser import grammar_path, parse, parse_file

__all__ = ["grammar_path", "parse", "parse_file"]
