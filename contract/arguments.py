"""Command-line pieces every entry point shares (``scc``, each ``jobs/*.py``): the data-day argument and a parser
whose usage mistakes are one line."""

from __future__ import annotations

import argparse
import datetime as dt
from typing import NoReturn


class UsageError(ValueError):
    """A usage mistake on the command line: one line for a person (exit code 2 wherever it is caught)."""


class OneLineParser(argparse.ArgumentParser):
    """An ArgumentParser raising :class:`UsageError` (``<prog>: <what>; see '<prog> --help'``) instead of
    printing the usage text and exiting: the caller prints one line and returns its exit code."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{self.prog}: {message}; see '{self.prog} --help'")


def data_day(text: str) -> dt.date:
    """The ``type=`` of a ``--date`` argument: a data day ``YYYY-MM-DD``, else a one-line reason."""
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid date {text!r}: expected YYYY-MM-DD") from None
