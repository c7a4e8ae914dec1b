"""The attribution engine: identity, sessions, touchpoints and rule-based credit, in SQL.

The queries are defined once (:mod:`utmost.engine.queries`) and run on any backend
(:mod:`utmost.engine.run`): DuckDB over the store, or Spark over Parquet.

The question is declared once, as data (:data:`PARAMETERS`), and so are the models
(:data:`MODELS`): the interfaces make their options, parameters and fields from these tables.
The interfaces use the names below and nothing else of the engine.
"""

from utmost.engine.deletion import Deleted, delete_person
from utmost.engine.models import MODELS, NAMES, parse_model
from utmost.engine.options import (
    ATTRIBUTE,
    FORMATS,
    JOURNEY,
    PARAMETERS,
    PARAMETERS_BY_NAME,
    REQUIRED,
    Options,
    Parameter,
    make_options,
    parameters,
)
from utmost.engine.queries import DEVICE_PREFIX
from utmost.engine.run import Journey, Result, attribute, check_question, journey

__all__ = [
    "ATTRIBUTE",
    "DEVICE_PREFIX",
    "FORMATS",
    "JOURNEY",
    "MODELS",
    "NAMES",
    "PARAMETERS",
    "PARAMETERS_BY_NAME",
    "REQUIRED",
    "Deleted",
    "Journey",
    "Options",
    "Parameter",
    "Result",
    "attribute",
    "check_question",
    "delete_person",
    "journey",
    "make_options",
    "parameters",
    "parse_model",
]
