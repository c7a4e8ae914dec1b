"""The attribution engine: identity, sessions, touchpoints and rule-based credit, in SQL.

The queries are defined once (:mod:`utmost.engine.queries`) and run on any backend
(:mod:`utmost.engine.run`): DuckDB over the store, or Spark over Parquet.

The question is declared once, as data (:data:`PARAMETERS`), and so are the models
(:data:`MODELS`): the interfaces make their options, parameters and fields from these tables.
Holdout experiments' estimates are pure arithmetic beside it (:mod:`utmost.engine.experiments`).
The interfaces use the names below and nothing else of the engine.
"""

from typing import TYPE_CHECKING

from utmost.engine.channels import CHANNEL, Channels, channels_from, default_channels, describe
from utmost.engine.models import MODELS, NAMES, parse_model
from utmost.engine.money import money_totals
from utmost.engine.options import (
    ATTRIBUTE,
    FORMATS,
    INTERVALS,
    JOURNEY,
    PARAMETERS,
    PARAMETERS_BY_NAME,
    REPORT,
    REQUIRED,
    Options,
    Parameter,
    make_options,
    parameters,
)
from utmost.lazy import exports

if TYPE_CHECKING:
    from utmost.engine.accuracy import (
        DEFAULT_MODELS,
        Evaluation,
        evaluate,
        evaluation_options,
        evaluation_parameters,
    )
    from utmost.engine.deletion import Deleted, delete_person
    from utmost.engine.experiments import ESTIMATE_COLUMNS, Experiment, Lift, estimates, experiments_of, lift, matching
    from utmost.engine.maintained import IMPORT_MEMORY, keep_up
    from utmost.engine.queries import DEVICE_PREFIX
    from utmost.engine.reports import Report, report
    from utmost.engine.run import Journey, Result, attribute, check_question, journey
    from utmost.engine.truth import FORMAT as TRUTH_FORMAT
    from utmost.engine.truth import ChannelTruth, Truth, parse_truth, read_truth, write_truth

#: The question and the models are read by ``--help``; running one loads Arrow, DuckDB and
#: scipy, so those names are imported when first used (:mod:`utmost.lazy`).
__getattr__ = exports(__name__, {
    "DEFAULT_MODELS": "utmost.engine.accuracy",
    "Evaluation": "utmost.engine.accuracy",
    "evaluate": "utmost.engine.accuracy",
    "evaluation_options": "utmost.engine.accuracy",
    "evaluation_parameters": "utmost.engine.accuracy",
    "keep_up": "utmost.engine.maintained",
    "IMPORT_MEMORY": "utmost.engine.maintained",
    "Deleted": "utmost.engine.deletion",
    "delete_person": "utmost.engine.deletion",
    "ESTIMATE_COLUMNS": "utmost.engine.experiments",
    "Experiment": "utmost.engine.experiments",
    "Lift": "utmost.engine.experiments",
    "estimates": "utmost.engine.experiments",
    "experiments_of": "utmost.engine.experiments",
    "lift": "utmost.engine.experiments",
    "matching": "utmost.engine.experiments",
    "DEVICE_PREFIX": "utmost.engine.queries",
    "Journey": "utmost.engine.run",
    "Result": "utmost.engine.run",
    "attribute": "utmost.engine.run",
    "check_question": "utmost.engine.run",
    "journey": "utmost.engine.run",
    "Report": "utmost.engine.reports",
    "report": "utmost.engine.reports",
    "TRUTH_FORMAT": "utmost.engine.truth:FORMAT",
    "ChannelTruth": "utmost.engine.truth",
    "Truth": "utmost.engine.truth",
    "parse_truth": "utmost.engine.truth",
    "read_truth": "utmost.engine.truth",
    "write_truth": "utmost.engine.truth",
})

__all__ = [
    "ATTRIBUTE",
    "CHANNEL",
    "ChannelTruth",
    "Channels",
    "DEFAULT_MODELS",
    "DEVICE_PREFIX",
    "Deleted",
    "ESTIMATE_COLUMNS",
    "Evaluation",
    "Experiment",
    "FORMATS",
    "IMPORT_MEMORY",
    "INTERVALS",
    "JOURNEY",
    "Journey",
    "Lift",
    "MODELS",
    "NAMES",
    "Options",
    "PARAMETERS",
    "PARAMETERS_BY_NAME",
    "Parameter",
    "REPORT",
    "REQUIRED",
    "Report",
    "Result",
    "TRUTH_FORMAT",
    "Truth",
    "attribute",
    "channels_from",
    "check_question",
    "default_channels",
    "delete_person",
    "describe",
    "estimates",
    "evaluate",
    "evaluation_options",
    "evaluation_parameters",
    "experiments_of",
    "journey",
    "keep_up",
    "lift",
    "make_options",
    "matching",
    "money_totals",
    "parameters",
    "parse_model",
    "parse_truth",
    "read_truth",
    "report",
    "write_truth",
]
