"""utmost: which campaign brought this customer — even when they came back later to buy."""

from typing import TYPE_CHECKING

from utmost.lazy import exports

if TYPE_CHECKING:
    from utmost.api import attribute, experiments, import_experiments, import_spend, journey, report, spend

__version__ = "0.1.0"
#: The Python API loads Arrow and DuckDB; ``python -m utmost --help`` need not (:mod:`utmost.lazy`).
__getattr__ = exports(__name__, {"attribute": "utmost.api", "journey": "utmost.api", "spend": "utmost.api",
                                  "import_spend": "utmost.api", "report": "utmost.api", "experiments": "utmost.api",
                                  "import_experiments": "utmost.api"})
__all__ = ["__version__", "attribute", "experiments", "import_experiments", "import_spend", "journey", "report", "spend"]
