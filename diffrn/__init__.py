"""Differentiation in R^n: the course's reference implementations.

Submodules:

* :mod:`diffrn.numerical` -- finite-difference derivatives (Jacobians, gradients, Hessians).
* :mod:`diffrn.demos` -- the interactive figures of the book.
* :mod:`diffrn.checks` -- the checks shared by exercise notebooks, hidden tests and pytest.
"""
__version__ = "0.1.0"
