"""``utmost evaluate``: score models against what a simulated world truly caused (docs/semantics.md §20).

The truth file fixes the question (conversion, keys, revenue property, days); the rest of it
comes from the question's table as ``utmost attribute`` offers it
(:func:`utmost.engine.evaluation_parameters`), the models' list from :data:`utmost.engine.MODELS`.
"""

from __future__ import annotations

from typing import Any

import click

from utmost.cli.questions import models_epilog, question_options
from utmost.cli.shell import cli, db_option, out, project_option, reports_errors
from utmost.engine import ATTRIBUTE, evaluation_options, evaluation_parameters, read_truth


@cli.command("evaluate", epilog=models_epilog())
@click.option("--truth", "truth_file", required=True, type=click.Path(dir_okay=False),
              help="The truth file of the simulation the database holds (`utmost simulate` writes it).")
@question_options(ATTRIBUTE, evaluation_parameters())
@click.option("--format", "output", type=click.Choice(["table", "json"]), default="table", show_default=True)
@db_option()
@project_option
@reports_errors
def evaluate_command(truth_file: str, db: str | None, project: str, output: str, **question: Any) -> None:
    """Score models against a simulation's truth: how far each one's credit per channel is from the
    conversions each channel truly caused (total variation distance of the shares, the largest
    channel error, rank correlation, inflation). The question's conversion, keys, revenue property
    and days are the truth file's."""
    from utmost import formats
    from utmost.access import evaluation, opened

    truth = read_truth(truth_file)
    asked = dict(project=project, where=truth_file, **question)
    evaluation_options(truth, **asked)  # a wrong question is told before the database is opened
    with opened(db, read_only=True) as database:
        found = database.run(evaluation, truth=truth, question=asked)
    if output == "json":
        click.echo(formats.dumps(formats.evaluation_document(found)))
        return
    for part in formats.evaluation_tables(found):
        out.print(part)
        out.print()
