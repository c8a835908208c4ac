"""`coloredit` commands: parse, call the library, print; one module per subcommand, no method logic here."""

from .main import main
from .parser import build_parser

__all__ = ["build_parser", "main"]
