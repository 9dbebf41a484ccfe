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


# ============================================================================================
# Added for problem sets 2-6. Same rule: classes with their random coefficients, no closures.
# ============================================================================================
class CallLimitExceeded(Exception):
    """Raised by a test function called more often than a check allows (see :class:`Gradient`)."""


class LinearOracle:
    """The VJP ``u -> uᵀJ`` or the JVP ``v -> J v`` of a fixed matrix J, counting its calls.

    Args:
        J: the (m, n) matrix.
        mode: ``"vjp"`` (takes u of length m, returns shape (n,)) or ``"jvp"`` (takes v of
            length n, returns shape (m,)).
    """

    def __init__(self, J, mode: str):
        self.J = np.array(J, dtype=np.float64)
        if mode not in ("vjp", "jvp"):
            raise ValueError(f"mode must be 'vjp' or 'jvp', not {mode!r}")
        self.mode = mode
        self.calls = 0

    def __call__(self, vector):
        self.calls += 1
        m, n = self.J.shape
        length, space = (m, "output") if self.mode == "vjp" else (n, "input")
        vector = np.asarray(vector)
        if vector.shape != (length,):
            raise ValueError(
                f"{self.mode} takes a 1-D vector of length {length} (a vector in the {space} space), "
                f"but was called with an array of shape {vector.shape}"
            )
        vector = vector.astype(np.float64)
        return vector @ self.J if self.mode == "vjp" else self.J @ vector


class ScalarFunction:
    """f(x) = sum_k c_k tanh(a_k·x + b_k) + ½ xᵀQx + p·x, a smooth scalar function of x in R^n.

    Exact gradient, Hessian and Hessian-vector products. ``output`` chooses how the value is
    returned: ``"float"``, ``"0d"`` (a 0-d array) or ``"1d"`` (an array of length 1), the three
    forms a scalar function handed to student code may take. With ``definite=True`` the
    quadratic part dominates, so the Hessian is positive definite everywhere (for Newton).
    """

    def __init__(self, rng: np.random.Generator, n: int, terms: int = 3, output: str = "float",
                 definite: bool = False):
        self.a = rng.normal(size=(terms, n)) / np.sqrt(n)
        self.b = rng.normal(size=terms) * 0.5
        self.c = rng.normal(size=terms)
        M = rng.normal(size=(n, n)) / np.sqrt(n)
        if definite:
            # tanh'' is at most 0.77 in absolute value: this shift keeps every eigenvalue >= 1.
            bound = float(np.sum(np.abs(self.c) * np.sum(self.a ** 2, axis=1))) * 0.77
            self.Q = M @ M.T + (1.0 + bound) * np.eye(n)
        else:
            self.Q = (M + M.T) / 2
        self.p = rng.normal(size=n) * 0.5
        self.output = output
        self.calls = 0

    def __call__(self, x):
        self.calls += 1
        x = np.asarray(x, dtype=np.float64)
        value = float(np.sum(self.c * np.tanh(self.a @ x + self.b)) + 0.5 * x @ self.Q @ x + self.p @ x)
        if self.output == "0d":
            return np.array(value)
        if self.output == "1d":
            return np.array([value])
        return value

    def gradient(self, x) -> np.ndarray:
        x = np.asarray(x, dtype=np.float64)
        t = np.tanh(self.a @ x + self.b)
        return (self.c * (1 - t ** 2)) @ self.a + self.Q @ x + self.p

    def hessian(self, x) -> np.ndarray:
        x = np.asarray(x, dtype=np.float64)
        t = np.tanh(self.a @ x + self.b)
        weights = self.c * (-2 * t * (1 - t ** 2))
        return (self.a.T * weights) @ self.a + self.Q

    def hvp(self, x, v) -> np.ndarray:
        return self.hessian(x) @ np.asarray(v, dtype=np.float64)


class SeparableFunction:
    """f(x) = sum_i (a_i x_i²/2 + c_i log cosh x_i) + s (u·x)²/2: gradient and H v cost O(n).

    Its Hessian diag(a + c (1 - tanh² x)) + s u uᵀ is dense, so forming it for n = 100 000
    would take 80 GB; its Hessian-vector product takes a few vectors of length n.
    """

    def __init__(self, rng: np.random.Generator, n: int):
        self.a = rng.uniform(0.5, 2.0, size=n)
        self.c = rng.normal(size=n)
        self.u = rng.normal(size=n) / np.sqrt(n)
        self.s = float(rng.uniform(0.5, 2.0))
        self.calls = 0

    def __call__(self, x):
        self.calls += 1
        x = np.asarray(x, dtype=np.float64)
        log_cosh = np.logaddexp(x, -x) - np.log(2.0)
        return float(np.sum(0.5 * self.a * x ** 2 + self.c * log_cosh) + 0.5 * self.s * (self.u @ x) ** 2)

    def gradient(self, x) -> np.ndarray:
        x = np.asarray(x, dtype=np.float64)
        return self.a * x + self.c * np.tanh(x) + self.s * (self.u @ x) * self.u

    def hvp(self, x, v) -> np.ndarray:
        x = np.asarray(x, dtype=np.float64)
        v = np.asarray(v, dtype=np.float64)
        return (self.a + self.c * (1 - np.tanh(x) ** 2)) * v + self.s * (self.u @ v) * self.u

    def hessian(self, x) -> np.ndarray:
        x = np.asarray(x, dtype=np.float64)
        return np.diag(self.a + self.c * (1 - np.tanh(x) ** 2)) + self.s * np.outer(self.u, self.u)


class QuadraticFunction:
    """f(x) = ½ (x - x*)ᵀ H (x - x*) with a given symmetric H: gradient H (x - x*), Hessian H."""

    def __init__(self, H, center):
        self.H = np.array(H, dtype=np.float64)
        self.center = np.array(center, dtype=np.float64)

    def __call__(self, x):
        d = np.asarray(x, dtype=np.float64) - self.center
        return float(0.5 * d @ self.H @ d)

    def gradient(self, x) -> np.ndarray:
        return self.H @ (np.asarray(x, dtype=np.float64) - self.center)

    def hessian(self, x) -> np.ndarray:
        return self.H.copy()

    def hvp(self, x, v) -> np.ndarray:
        return self.H @ np.asarray(v, dtype=np.float64)


class Gradient:
    """``grad(x)`` of any function above with a ``gradient`` method, as its own callable.

    With ``limit``, the call after the limit raises :class:`CallLimitExceeded`: it stops a
    method whose cost grows with n before it runs for hours. ``calls`` counts the calls.
    """

    def __init__(self, function, limit: int | None = None):
        self.function = function
        self.limit = limit
        self.calls = 0

    def __call__(self, x):
        self.calls += 1
        if self.limit is not None and self.calls > self.limit:
            raise CallLimitExceeded(f"grad_f was called more than {self.limit} times")
        return self.function.gradient(x)


class Hessian:
    """``hess(x)`` of any function above with a ``hessian`` method, as its own callable."""

    def __init__(self, function):
        self.function = function

    def __call__(self, x):
        return self.function.hessian(x)


class TanhConditioner:
    """x1 -> amplitude * tanh(A x1 + b) + offset, a conditioner (scale or shift) of a coupling layer."""

    def __init__(self, rng: np.random.Generator, half: int, amplitude: float = 1.0, offset: float = 0.0):
        self.A = rng.normal(size=(half, half)) / np.sqrt(half)
        self.b = rng.normal(size=half) * 0.5
        self.amplitude = float(amplitude)
        self.offset = float(offset)

    def __call__(self, x1):
        x1 = np.asarray(x1, dtype=np.float64)
        return self.amplitude * np.tanh(x1 @ self.A.T + self.b) + self.offset


class InvertibleMap:
    """f(x) = A x + 0.3 tanh(B x): A is close to a scaled rotation, so J_f is invertible everywhere."""

    def __init__(self, rng: np.random.Generator, n: int):
        Q, _ = np.linalg.qr(rng.normal(size=(n, n)))
        self.A = 2.0 * Q + 0.3 * rng.normal(size=(n, n)) / np.sqrt(n)
        self.B = rng.normal(size=(n, n)) / np.sqrt(n)

    def __call__(self, x):
        x = np.asarray(x, dtype=np.float64)
        return self.A @ x + 0.3 * np.tanh(self.B @ x)

    def jacobian(self, x) -> np.ndarray:
        x = np.asarray(x, dtype=np.float64)
        return self.A + 0.3 * (1 - np.tanh(self.B @ x) ** 2)[:, None] * self.B


# ============================================================================================
# Maps that also accept complex points (for the complex step), and recorders that count calls.
# ============================================================================================
def _point(x, n: int) -> np.ndarray:
    """``x`` as a 1-D array of length n, keeping a complex dtype (the complex step needs it)."""
    x = np.asarray(x)
    if x.dtype.kind not in "fc":
        x = x.astype(np.float64)
    if x.shape != (n,):
        raise ValueError(f"f takes one point, a 1-D array of length {n}; it was called with shape {x.shape}")
    return x


class AnalyticMap:
    """f(x) = offset + tanh(A x + b) + c (B x)² + d sin(w C x), analytic, so complex points work.

    Nothing in it casts to float: at x + i·h·e_j it returns complex values whose imaginary part
    is h times column j of the Jacobian, up to O(h³). A large ``offset`` leaves the Jacobian
    alone but makes f(x ± h e_j) nearly equal, so finite differences lose digits there.
    With ``scalar=True`` (m must be 1) it returns a plain number: a float at a real point, a
    complex at a complex one.
    """

    def __init__(self, rng: np.random.Generator, n: int, m: int, scalar: bool = False,
                 offset: float = 0.0, frequency: float = 1.0):
        self.A = rng.normal(size=(m, n)) / np.sqrt(n)
        self.B = rng.normal(size=(m, n)) / np.sqrt(n)
        self.C = rng.normal(size=(m, n)) / np.sqrt(n)
        self.b = rng.normal(size=m) * 0.5
        self.c = rng.normal(size=m) * 0.5
        self.d = rng.normal(size=m) * 0.5
        self.offset = float(offset)
        self.frequency = float(frequency)
        self.scalar = scalar and m == 1
        self.calls = 0

    @property
    def shape(self) -> tuple[int, int]:
        return self.A.shape

    def __call__(self, x):
        self.calls += 1
        x = _point(x, self.A.shape[1])
        value = (self.offset + np.tanh(self.A @ x + self.b) + self.c * (self.B @ x) ** 2
                 + self.d * np.sin(self.frequency * (self.C @ x)))
        if not self.scalar:
            return value
        return complex(value[0]) if np.iscomplexobj(value) else float(value[0])

    def jacobian(self, x) -> np.ndarray:
        x = np.asarray(x, dtype=np.float64)
        return ((1 - np.tanh(self.A @ x + self.b) ** 2)[:, None] * self.A
                + (2 * self.c * (self.B @ x))[:, None] * self.B
                + (self.d * self.frequency * np.cos(self.frequency * (self.C @ x)))[:, None] * self.C)


class AnalyticExample:
    """The chapter's f(x1, x2) = (x1² + x2, x1·x2), without a cast to float (complex points work)."""

    def __call__(self, x):
        x = _point(x, 2)
        return np.array([x[0] ** 2 + x[1], x[0] * x[1]])

    def jacobian(self, x) -> np.ndarray:
        x = np.asarray(x, dtype=np.float64)
        return np.array([[2 * x[0], 1.0], [x[1], x[0]]])


class Recorder:
    """Calls ``function`` and keeps a copy of every argument, so a check can say where and how often.

    Args:
        function: what to call (a map or its Jacobian).
        name: how feedback names it, e.g. ``"jac_2"``.
        size: the length of the 1-D arrays it accepts; another shape raises a ValueError that
            says which vector it should have been given.
        expects: how feedback names the right argument, e.g. "the output of layer 1".
    """

    def __init__(self, function, name: str, size: int, expects: str):
        self.function = function
        self.name = name
        self.size = size
        self.expects = expects
        self.inputs: list[np.ndarray] = []

    @property
    def calls(self) -> int:
        return len(self.inputs)

    def __call__(self, u):
        u = np.asarray(u)
        self.inputs.append(np.array(u, dtype=np.float64, copy=True))
        if u.shape != (self.size,):
            raise ValueError(
                f"{self.name} was called with an array of shape {u.shape}; it takes {self.expects}, "
                f"a 1-D array of length {self.size}"
            )
        return self.function(u)


def ill_conditioned(rng: np.random.Generator, n: int, condition: float = 1e12) -> np.ndarray:
    """A random nonsymmetric n×n matrix with the given condition number.

    Its singular values are spread evenly in log over 1 .. 1/condition: on such a matrix a
    solve keeps its residual at rounding level and a formed inverse measurably does not.
    """
    U, _ = np.linalg.qr(rng.normal(size=(n, n)))
    V, _ = np.linalg.qr(rng.normal(size=(n, n)))
    return (U * np.logspace(0, -np.log10(condition), n)) @ V.T * rng.uniform(1, 3)
