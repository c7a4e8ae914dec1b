"""``utmost attribute``, ``utmost journey`` and ``utmost report``: the question's options come from its table
(:data:`utmost.engine.PARAMETERS`), the models' list from :data:`utmost.engine.MODELS`."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import click

from utmost.cli.shell import cli, db_option, out, project_option, reports_errors
from utmost.engine import (
    ATTRIBUTE,
    FORMATS,
    JOURNEY,
    MODELS,
    PARAMETERS_BY_NAME,
    REPORT,
    REQUIRED,
    Parameter,
    make_options,
    parameters,
)
from utmost.errors import InputError

if TYPE_CHECKING:
    from utmost.engine import Result


def question_options(question: str, offered: tuple[Parameter, ...] | None = None,
                     ) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """The click options of ``question`` (``attribute``, ``journey`` or ``report``), one per row of the
    question's table (:data:`utmost.engine.options.PARAMETERS`); ``offered``: only these rows
    (``utmost evaluate``'s, :func:`utmost.engine.evaluation_parameters`)."""

    def add(command: Callable[..., Any]) -> Callable[..., Any]:
        for parameter in reversed(parameters(question) if offered is None else offered):
            command = click.option(parameter.option, parameter.name, **_click_settings(parameter, question))(command)
        return command

    return add


def _click_settings(parameter: Parameter, question: str) -> dict[str, Any]:
    default = parameter.default_for(question)
    if default is REQUIRED:
        return {"required": True, "help": parameter.help}
    if parameter.type is bool:
        return {"is_flag": True, "default": default, "help": parameter.help}
    kind = (click.Choice(parameter.choices) if parameter.choices
            else click.IntRange(*parameter.bounds) if parameter.bounds else parameter.type)
    return {"type": kind, "default": default, "show_default": default is not None, "help": parameter.help}


def models_epilog() -> str:
    """The models table at the end of ``--help``: each name, its meaning, the options it reads.

    A ``\b`` paragraph, which click prints as it is instead of rewrapping it.
    """
    width = max(len(m.name) for m in MODELS)
    lines = [f"  {m.name:<{width}}  {m.meaning}" + "".join(f" ({PARAMETERS_BY_NAME[name].option})"
                                                           for name in m.parameters) for m in MODELS]
    return "\b\nModels:\n" + "\n".join(lines)


@cli.command("attribute", epilog=models_epilog())
@question_options(ATTRIBUTE)
@click.option("--format", "output", type=click.Choice(FORMATS), default="table", show_default=True)
@click.option("--per-conversion", is_flag=True, help="One row per conversion, model and key instead of totals.")
@click.option("--explain-model", is_flag=True,
              help="With --format json: print {rows, markov: removal effects and transitions}.")
@click.option("--engine", type=click.Choice(["duckdb", "spark"]), default="duckdb", show_default=True,
              help="duckdb: the --db file; spark: Parquet from `utmost export` (--events).")
@click.option("--events", "events_dir", type=click.Path(), help="Parquet folder of events (with --engine spark).")
@click.option("--spark-master", help="Spark master URL [default: spark-submit's, else local[*]].")
@click.option("--spark-conf", "spark_conf", multiple=True, metavar="KEY=VALUE",
              help="A Spark setting for the session, e.g. spark.driver.memory=8g (repeatable).")
@db_option()
@project_option
@reports_errors
def attribute_command(
    db: str | None, project: str, output: str, per_conversion: bool, explain_model: bool, engine: str,
    events_dir: str | None, spark_master: str | None, spark_conf: tuple[str, ...], **question: Any,
) -> None:
    """Credit each conversion to the campaigns that brought it, under one or more models."""
    from utmost import formats
    from utmost.access import answer_on_spark, attribution, opened

    options = make_options(project=project, **question)
    if engine == "spark":
        if not events_dir:
            raise InputError("--engine spark needs --events DIR (write it with `utmost export --parquet DIR`)")
        from utmost.backends import parse_spark_conf

        result = answer_on_spark(options, events_dir, spark_master, parse_spark_conf(spark_conf), per_conversion)
    else:
        with opened(db, read_only=True) as database:
            found = database.run(attribution, question=dict(project=project, **question), per_conversion=per_conversion)
        result = found.result(options)
    if explain_model:
        if output != "json":
            raise InputError("--explain-model needs --format json")
        rows = formats.rows(result.per_conversion if per_conversion else result.totals)
        click.echo(formats.dumps({"rows": rows, **result.explanation}))
        return
    _print_result(result, output, per_conversion)


@cli.command("journey", epilog=models_epilog())
@click.argument("person_id", metavar="ID")
@question_options(JOURNEY)
@click.option("--format", "output", type=click.Choice(["table", "json"]), default="table", show_default=True)
@db_option()
@project_option
@reports_errors
def journey_command(person_id: str, db: str | None, project: str, output: str, **question: Any) -> None:
    """One person (any of their ids): merged ids, sessions, touchpoints kept or dropped and why,
    and each conversion's credit under every model."""
    from utmost import formats
    from utmost.access import journey, opened

    options = make_options(project=project, **question)
    with opened(db, read_only=True) as database:
        path = database.run(journey, question=dict(project=project, **question), any_id=person_id)
    if output == "json":
        click.echo(formats.journey_json(path))
        return
    for part in formats.journey_tables(path, options.by):
        out.print(part)
        out.print()


@cli.command("report", epilog=models_epilog())
@question_options(REPORT)
@click.option("--format", "output", type=click.Choice(FORMATS), default="table", show_default=True)
@db_option()
@project_option
@reports_errors
def report_command(db: str | None, project: str, output: str, **question: Any) -> None:
    """Per campaign key: the sessions it started, persons and landings, the conversions credited
    to it under one model, conversion rate, revenue, cost, CPA and ROAS; per period with --interval."""
    from utmost import formats
    from utmost.access import opened, report

    options = make_options(project=project, question=REPORT, **question)
    with opened(db, read_only=True) as database:
        found = database.run(report, question=dict(project=project, **question))
    if output == "json":
        click.echo(formats.to_json(found.table))
    elif output == "csv":
        click.echo(formats.to_csv(found.table), nl=False)
    else:
        out.print(formats.report_table(found, options))


def _print_result(result: Result, output: str, per_conversion: bool) -> None:
    from utmost import formats

    table = result.per_conversion if per_conversion else result.totals
    if output == "json":
        click.echo(formats.to_json(table))
    elif output == "csv":
        click.echo(formats.to_csv(table), nl=False)
    elif per_conversion:
        out.print(formats.per_conversion_table(result))
    else:
        out.print(formats.to_table(result))
