"""The `weightline` command: argument parsing, tables and JSON, one error-to-exit-code map."""

from weightline.cli.main import main

__all__ = ["main"]
