"""utmost: which campaign brought this customer — even when they came back later to buy."""

from utmost.api import attribute, journey

__version__ = "0.1.0"
__all__ = ["__version__", "attribute", "journey"]
