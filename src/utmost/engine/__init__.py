"""The attribution engine: identity, sessions, touchpoints and rule-based credit, in SQL.

The queries are defined once (:mod:`utmost.engine.queries`) and run on any backend
(:mod:`utmost.engine.run`): DuckDB over the store, or Spark over Parquet.
"""

from utmost.engine.options import Options, make_options
from utmost.engine.queries import DEVICE_PREFIX
from utmost.engine.run import Journey, Result, attribute, check_question, journey

__all__ = ["DEVICE_PREFIX", "Journey", "Options", "Result", "attribute", "check_question", "journey", "make_options"]
