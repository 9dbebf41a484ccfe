"""Random test functions with known derivatives, for hidden tests.

They are small classes rather than closures so that a case can be sent to another process
(pickle stores the class name and the random coefficients) and rebuilt there.
"""
from __future__ import annotations

import numpy as np


class SmoothMap:
    """f(x) = tanh(A x + b) + c * (B x)**2, a smooth map R^n -> R^m with an exact Jacobian.

    With ``scalar=True`` it returns a Python float (m must be 1), the other form a function
    handed to student code may take.
    """

    def __init__(self, rng: np.random.Generator, n: int, m: int, scalar: bool = False):
        self.A = rng.normal(size=(m, n)) / np.sqrt(n)
        self.B = rng.normal(size=(m, n)) / np.sqrt(n)
        self.b = rng.normal(size=m) * 0.5
        self.c = rng.normal(size=m) * 0.5
        self.scalar = scalar and m == 1
        self.calls = 0

    @property
    def shape(self) -> tuple[int, int]:
        return self.A.shape

    def __call__(self, x):
        self.calls += 1
        x = np.asarray(x, dtype=np.float64)
        value = np.tanh(self.A @ x + self.b) + self.c * (self.B @ x) ** 2
        return float(value[0]) if self.scalar else value

    def jacobian(self, x) -> np.ndarray:
        x = np.asarray(x, dtype=np.float64)
        inner = self.A @ x + self.b
        return (1 - np.tanh(inner) ** 2)[:, None] * self.A + (2 * self.c * (self.B @ x))[:, None] * self.B


class LinearMap:
    """f(x) = A x: its Jacobian is A everywhere, so every finite-difference step is exact."""

    def __init__(self, A):
        self.A = np.array(A, dtype=np.float64)

    def __call__(self, x):
        return self.A @ np.asarray(x, dtype=np.float64)

    def jacobian(self, x) -> np.ndarray:
        return self.A.copy()


class WorkedExample:
    """The chapter's f(x1, x2) = (x1² + x2, x1·x2)."""

    def __call__(self, x):
        x = np.asarray(x, dtype=np.float64)
        return np.array([x[0] ** 2 + x[1], x[0] * x[1]])

    def jacobian(self, x) -> np.ndarray:
        x = np.asarray(x, dtype=np.float64)
        return np.array([[2 * x[0], 1.0], [x[1], x[0]]])


class Jacobian:
    """``jac(x)`` for any of the maps above, as a separate picklable callable."""

    def __init__(self, function):
        self.function = function

    def __call__(self, x):
        return self.function.jacobian(x)
