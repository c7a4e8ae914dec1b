"""The ``utmost`` command: a thin shell over the store, the importer, the engine and the demo.

Every command takes ``--db`` (default ``utmost.duckdb``, env ``UTMOST_DB``) and, where it
reads or writes events, ``--project`` (default ``default``). Errors print one line on stderr
and exit with status 2; nothing prints a traceback for bad input.

The commands live by what they do (:mod:`~utmost.cli.channels`, :mod:`~utmost.cli.data`,
:mod:`~utmost.cli.evaluate`, :mod:`~utmost.cli.experiments`, :mod:`~utmost.cli.projects`,
:mod:`~utmost.cli.questions`, :mod:`~utmost.cli.serving`, :mod:`~utmost.cli.simulate`, :mod:`~utmost.cli.spend`);
each adds itself to the one group, :data:`utmost.cli.shell.cli`, when imported here.
"""

from utmost.cli import channels, data, evaluate, experiments, projects, questions, serving, simulate, spend
from utmost.cli.shell import cli

__all__ = ["channels", "cli", "data", "evaluate", "experiments", "main", "projects", "questions", "serving",
           "simulate", "spend"]


def main() -> None:
    cli(prog_name="utmost")
