"""Interactive demos of the course: one module per chapter, all built on :mod:`diffrn.demos.core`."""
from diffrn.demos.core import Control, figure, interactive_demo

__all__ = ["Control", "figure", "interactive_demo"]
