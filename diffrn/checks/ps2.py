"""Checks for ps2-chain-rule: the Jacobian of a chain of layers and the gradients that follow from it.

Notebook usage::

    from diffrn.checks.ps2 import check
    check.compose_jacobian(compose_jacobian)                # visible cases
    check.compose_jacobian(compose_jacobian, hidden=True)   # hidden cases, drawn per student
    check.compose_jacobian(compose_jacobian, part="hard")   # counts the calls of every f_i and jac_i
"""
from __future__ import annotations

import numpy as np

from diffrn.checks.core import (
    Answer, Case, CheckFailure, Exercise, ProblemSet, expect_array, expect_close_named, expect_scalar,
    expect_tuple, flag, flagged,
)
from diffrn.checks.functions import Jacobian, LinearMap, Recorder, SmoothMap, WorkedExample

# Exact formulas carry only rounding error; composite_derivative may also be done by differences.
EXACT_RTOL = 1e-9
FD_RTOL = 1e-5
# How far a recorded argument may be from the point it should be, to count as that point.
SAME_POINT = 1e-12
# The start of the message a Recorder raises when a layer gets a vector of the wrong length.
WRONG_INPUT = "was called with an array of shape"


# --- compose_jacobian ----------------------------------------------------------------------------
def _same_point(a: np.ndarray, b: np.ndarray) -> bool:
    return a.shape == b.shape and bool(np.all(np.abs(a - b) <= SAME_POINT * max(1.0, float(np.max(np.abs(b))))))


def _where(recorded: list[np.ndarray], own_input: np.ndarray, x: np.ndarray, own_output: np.ndarray) -> str:
    """Where a jac_i was evaluated: "ok" (at its layer's input), "x", "output", "none" or "other"."""
    if not recorded:
        return "none"
    if any(_same_point(point, own_input) for point in recorded):
        return "ok"
    first = recorded[0]
    if _same_point(first, x):
        return "x"
    if _same_point(first, own_output):
        return "output"
    return "other"


def _product(factors):
    """factors[-1] @ ... @ factors[0], or None if the shapes do not chain."""
    result = factors[0]
    for factor in factors[1:]:
        if factor.shape[1] != result.shape[0]:
            return None
        result = factor @ result
    return result


def _compose_case(label, maps, x, count_calls=False):
    x = np.asarray(x, dtype=np.float64)
    k = len(maps)
    inputs = [x]  # inputs[i] is what layer i + 1 acts on; inputs[k] is the chain's output
    for layer in maps:
        inputs.append(np.atleast_1d(np.asarray(layer(inputs[-1]), dtype=np.float64)))
    sizes = [point.size for point in inputs]
    jacobians = [layer.jacobian(point) for layer, point in zip(maps, inputs)]
    expected = _product(jacobians)
    m, n = expected.shape
    scalar_end = bool(getattr(maps[-1], "scalar", False))

    mistakes = []
    reversed_order = _product(jacobians[::-1])
    if k > 1 and reversed_order is not None:
        mistakes.append((reversed_order, "You multiplied in the wrong order: the Jacobian of f_k ∘ … ∘ f_1 is "
                                         "J_k ⋯ J_2 J_1, the last layer's Jacobian on the left. Accumulating from "
                                         "the input, put each new factor on the left: J = J_i @ J."))
    if k > 1:
        for skipped, which in ((jacobians[1:], "first"), (jacobians[:-1], "last")):
            product = _product(skipped)
            if product is not None and product.shape == expected.shape:
                mistakes.append((product, f"The {which} layer's Jacobian is missing from your product: "
                                          f"all {k} factors J_{k} ⋯ J_1 belong in it."))
    if m == n:
        mistakes.append((expected.T, "Your matrix is the transpose of the right one: rows index the chain's "
                                     "outputs, columns its inputs x."))

    def recorders():
        layers = []
        for i, layer in enumerate(maps, start=1):
            expects = "x itself" if i == 1 else f"the output of layer {i - 1}"
            layers.append((Recorder(layer, f"f_{i}", sizes[i - 1], expects),
                           Recorder(Jacobian(layer), f"jac_{i}", sizes[i - 1], expects)))
        return layers

    def report(layers):
        f_calls = np.array([f.calls for f, _ in layers], dtype=np.float64)
        jac_calls = np.array([jac.calls for _, jac in layers], dtype=np.float64)
        where = ",".join(_where(jac.inputs, inputs[i], x, inputs[i + 1]) for i, (_, jac) in enumerate(layers))
        return f_calls, jac_calls, where

    def call(student):
        layers = recorders()
        try:
            result = student(layers, x)
        except ValueError as error:
            text = str(error)
            if not any(sign in text for sign in ("matmul", "not aligned", "broadcast", WRONG_INPUT)):
                raise
            return flag("raised", text[:200], *report(layers))
        return flag("recorded", result, *report(layers))

    def judge(answer: Answer):
        problem = flagged(answer)
        if problem is None:  # only the adapter above calls the function, so this is a malformed answer
            raise CheckFailure(f"{label}: your function's answer could not be read.")
        code, details = problem
        first, f_calls_item, jac_calls_item, where_item = details
        f_calls = [int(round(c)) for c in np.atleast_1d(f_calls_item.values)]
        jac_calls = [int(round(c)) for c in np.atleast_1d(jac_calls_item.values)]
        for i, place in enumerate(where_item.text.split(","), start=1):
            own_input = "x" if i == 1 else f"the output of layer {i - 1}"
            if place == "x":
                raise CheckFailure(
                    f"{label}: jac_{i} was evaluated at x instead of the layer's input. Layer {i} acts on "
                    f"{own_input}, so J_{i} is jac_{i} there: carry u = f_i(u) forward and call jac_i(u) "
                    "before you apply f_i."
                )
            if place == "output":
                raise CheckFailure(
                    f"{label}: jac_{i} was evaluated at the output of layer {i} (after applying f_{i}); "
                    f"evaluate it at the layer's own input, {own_input}: call jac_i(u) before u = f_i(u)."
                )
            if place == "other":
                raise CheckFailure(
                    f"{label}: jac_{i} was evaluated at a point that is not layer {i}'s input ({own_input}). "
                    "Check that you pass each layer's value on to the next."
                )
            if place == "none" and code == "recorded":  # after an exception, later layers never ran
                raise CheckFailure(
                    f"{label}: jac_{i} was never called, but J_{i} is a factor of J = J_{k} ⋯ J_1: every "
                    "layer's Jacobian enters the product."
                )
        if code == "raised" and WRONG_INPUT in first.text:
            raise CheckFailure(f"{label}: your function raised ValueError: {first.text}.")
        if code == "raised":
            dims = " → ".join(f"R^{size}" for size in sizes)
            raise CheckFailure(
                f"{label}: your function raised ValueError: {first.text}. The factors do not fit together: the "
                f"chain is {dims}, so J_i is (output size × input size) of layer i, and the product "
                "J_k ⋯ J_2 J_1 puts each new factor on the left (J = J_i @ J). Wrong multiplication order?"
            )
        why = f"the chain maps R^{n} to R^{m}, so J is {m}×{n}"
        if scalar_end:
            why += "; the last layer returns a plain number, so m = 1 and J is one row"
        found = expect_array(first, (m, n), label, why)
        expect_close_named(found, expected, label, EXACT_RTOL, "Jacobian entry", mistakes)
        if count_calls:
            for i in range(1, k + 1):
                for name, calls in ((f"f_{i}", f_calls[i - 1]), (f"jac_{i}", jac_calls[i - 1])):
                    if calls != 1:
                        what = "was never called" if calls == 0 else \
                            "was called " + ("twice" if calls == 2 else f"{calls} times")
                        fix = ("keep its value in a variable for the next layer instead of calling it again"
                               if calls > 1 else "the forward pass runs every layer, the last one included")
                        raise CheckFailure(
                            f"{label}: {name} {what}; the contract is exactly one call of each f_i "
                            f"and each jac_i ({fix})."
                        )

    return Case(label, (recorders(), x), judge, call=call)


def _compose_visible():
    rng = np.random.default_rng(21)
    square = [SmoothMap(rng, 3, 3) for _ in range(3)]
    return [
        _compose_case("two layers: the worked example R² → R², then u ↦ A u with A 3×2, at x = (1, 2)",
                      [WorkedExample(), LinearMap([[1.0, 0.0], [2.0, -1.0], [0.5, 3.0]])], [1.0, 2.0]),
        _compose_case("three smooth layers R³ → R³ → R³ → R³ (all square: shapes alone cannot catch a wrong "
                      "order or a wrong point), at x = (0.5, -1, 0.3)", square, [0.5, -1.0, 0.3]),
        _compose_case("a single layer R³ → R² (its own Jacobian), at x = (0.2, 0.4, -0.6)",
                      [SmoothMap(np.random.default_rng(22), 3, 2)], [0.2, 0.4, -0.6]),
        _compose_case("R² → R³ → R with a last layer that returns a plain number (J is 1×2), at x = (1, -0.5)",
                      [SmoothMap(np.random.default_rng(23), 2, 3),
                       SmoothMap(np.random.default_rng(24), 3, 1, scalar=True)], [1.0, -0.5]),
    ]


def _random_chain(rng, sizes, scalar_end=False, count_calls=False):
    maps = [SmoothMap(rng, a, b, scalar=(scalar_end and i == len(sizes) - 2 and b == 1))
            for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:]))]
    dims = " → ".join(f"R^{size}" for size in sizes)
    label = f"a random chain of {len(maps)} smooth layer{'s' if len(maps) > 1 else ''} {dims}"
    if scalar_end:
        label += " (the last returns a plain number)"
    if count_calls:
        label += ", counting calls"
    return _compose_case(label, maps, rng.normal(size=sizes[0]), count_calls)


def _compose_hidden(rng):
    return [_random_chain(rng, [3, 3, 3, 3]), _random_chain(rng, [2, 4, 3, 5]), _random_chain(rng, [4, 2]),
            _random_chain(rng, [3, 4, 4, 2, 1], scalar_end=True), _random_chain(rng, [1, 3, 2])]


def _compose_hard(rng):
    return [_random_chain(rng, [3, 3, 3], count_calls=True), _random_chain(rng, [2, 5, 4, 3], count_calls=True),
            _random_chain(rng, [4, 3], count_calls=True),
            _random_chain(rng, [3, 2, 1], scalar_end=True, count_calls=True)]


# --- composite_derivative ------------------------------------------------------------------------
def _composite_case(t):
    t = float(t)
    label = f"composite_derivative({t:.4g})"
    s, c = np.sin(t), np.cos(t)
    expected = 2 * s * c - 2 * s
    mistakes = [
        (2 * s * c + 2 * s, "Sign error in the second term: d(cos t)/dt = -sin t, so the term 2·x2 contributes -2 sin t."),
        (s * c - 2 * s, "The first term is half what it should be: d(x1²)/dx1 = 2·x1, so it contributes 2 sin t cos t "
                        "(a missing factor of 2)."),
        (2 * s + 2, "You added the partial derivatives 2·x1 and 2 without multiplying by dx1/dt = cos t and "
                    "dx2/dt = -sin t: the chain rule sums ∂f/∂xi · dxi/dt."),
        (2 * s * c, "The term 2·x2 = 2 cos t is missing: it contributes -2 sin t."),
        (-2 * s, "The term x1² = sin² t is missing: it contributes 2 sin t cos t."),
    ]

    def judge(answer: Answer):
        found = expect_scalar(answer, label)
        expect_close_named(found, expected, label, FD_RTOL, "derivative", mistakes)

    return Case(label, (t,), judge)


def _composite_visible():
    return [_composite_case(t) for t in (0.5, np.pi / 3, -1.0)]


def _composite_hidden(rng):
    # Away from multiples of pi, where sin t = 0 would hide every mistake.
    ts = rng.uniform(0.2, np.pi - 0.2, size=4) * rng.choice([-1.0, 1.0], size=4)
    return [_composite_case(t) for t in ts]


# --- weighted_least_squares_grad -----------------------------------------------------------------
def _weighted_case(label, theta, Phi, y, w):
    theta, Phi, y, w = (np.asarray(a, dtype=np.float64) for a in (theta, Phi, y, w))
    residual = y - Phi @ theta
    expected = -2 * Phi.T @ (w * residual)
    N, D = Phi.shape
    mistakes = [
        (-Phi.T @ (w * residual), "Your gradient is half the right one: the derivative of wᵢ rᵢ² is 2 wᵢ rᵢ "
                                  "(a missing factor of 2)."),
        (2 * Phi.T @ (w * residual), "Your gradient has the wrong sign: rᵢ = yᵢ - Φᵢ·θ decreases as θ moves along "
                                     "Φᵢ, so ∇ = -2 Φᵀ(w ⊙ (y - Φθ))."),
        (-2 * Phi.T @ residual, "Your gradient ignores the weights: each residual enters as wᵢ rᵢ², so its term is "
                                "-2 wᵢ rᵢ Φᵢ."),
        (-2 * Phi.T @ (w ** 2 * residual), "Your gradient weights each residual by wᵢ² instead of wᵢ: scaling the "
                                           "rows of Φ and y by w squares the weights (scale by √w, or put w "
                                           "once: -2 Φᵀ(w ⊙ r))."),
        (-2 * Phi.T @ (np.sqrt(w) * residual), "Your gradient weights each residual by √wᵢ instead of wᵢ: if you "
                                               "scale the rows by √w, scale both Φ and y (the weight enters "
                                               "squared through the residual)."),
        (expected / N, f"Your gradient is the right one divided by N = {N}: the loss is a sum, not a mean."),
        (expected / max(float(np.sum(w)), 1e-300), "Your gradient is divided by Σ wᵢ: the loss is the plain "
                                                   "weighted sum Σ wᵢ rᵢ², not normalized."),
    ]

    def judge(answer: Answer):
        found = expect_array(answer, (D,), label, f"θ has {D} entries, so its gradient does too")
        expect_close_named(found, expected, label, EXACT_RTOL, "gradient entry", mistakes)

    return Case(label, (theta, Phi, y, w), judge)


def _weighted_visible():
    Phi = np.array([[1.0, 0.0], [1.0, 1.0], [1.0, 2.0]])
    return [
        _weighted_case("a line fit to 3 points, θ = (0, 1), w = (1, 2, 0.5)", [0.0, 1.0], Phi,
                       [1.0, 2.0, 2.0], [1.0, 2.0, 0.5]),
        _weighted_case("a zero weight: the outlier y3 = 10 must not count, w = (1, 1, 0)", [1.0, 0.5], Phi,
                       [1.0, 1.0, 10.0], [1.0, 1.0, 0.0]),
        _weighted_case("Φ 4×3, θ = (1, -1, 2), w = (0.5, 2, 1, 3)", [1.0, -1.0, 2.0],
                       np.array([[1.0, 2.0, 0.0], [0.0, 1.0, 1.0], [1.0, 0.0, -1.0], [2.0, 1.0, 1.0]]),
                       [1.0, 0.0, 2.0, -1.0], [0.5, 2.0, 1.0, 3.0]),
    ]


def _weighted_hidden(rng):
    cases = []
    for N, D in [(5, 2), (8, 3), (20, 6), (4, 4)]:
        w = rng.uniform(0.0, 3.0, size=N)
        w[rng.integers(N)] = 0.0
        cases.append(_weighted_case(f"random Φ {N}×{D} with weights in [0, 3] (one of them 0)", rng.normal(size=D),
                                    rng.normal(size=(N, D)), rng.normal(size=N), w))
    return cases


# --- linear_layer_grads --------------------------------------------------------------------------
def _layer_case(label, W, b, X, Y):
    W, b, X, Y = (np.asarray(a, dtype=np.float64) for a in (W, b, X, Y))
    m, n = W.shape
    B = X.shape[0]
    R = X @ W.T + b - Y  # row β is W x_β + b - y_β
    g_W, g_b = R.T @ X / B, R.mean(axis=0)
    R_no_bias = X @ W.T - Y
    mistakes_W = [
        (B * g_W, f"Your g_W is B = {B} times the right one: L averages over the batch (the 1/B), so divide the sum "
                  "of the per-example gradients by B."),
        (2 * g_W, "Your g_W is twice the right one: the ½ in ½‖W x + b - y‖² cancels the 2 from the square."),
        (-g_W, "Your g_W has the wrong sign: use the error W x + b - y, not y - W x - b."),
        (R_no_bias.T @ X / B, "Your g_W leaves b out of the error: it is (W x_β + b - y_β) x_βᵀ, averaged."),
        (g_W.T, "Your g_W is the transpose of the right one: it has the shape of W, Σ_β r_β x_βᵀ / B with rows for "
                "outputs."),
    ]
    mistakes_b = [
        (B * g_b, f"Your g_b is B = {B} times the right one: L averages over the batch, so g_b is the mean error."),
        (2 * g_b, "Your g_b is twice the right one: the ½ cancels the 2 from the square."),
        (-g_b, "Your g_b has the wrong sign: use the error W x + b - y."),
        (R_no_bias.mean(axis=0), "Your g_b leaves b out of the error: it is the mean of W x_β + b - y_β."),
    ]

    def judge(answer: Answer):
        items = expect_tuple(answer, ("g_W", "g_b"), label)
        if items[0].shape == (m,) and items[1].shape == (m, n):
            raise CheckFailure(f"{label}: your tuple is (g_b, g_W); the contract is (g_W, g_b).")
        found_W = expect_array(items[0], (m, n), f"{label}, g_W",
                               f"W is {m}×{n}, and a gradient with respect to W has its shape")
        expect_close_named(found_W, g_W, f"{label}, g_W", EXACT_RTOL, "gradient entry", mistakes_W)
        found_b = expect_array(items[1], (m,), f"{label}, g_b", f"b has {m} entries")
        expect_close_named(found_b, g_b, f"{label}, g_b", EXACT_RTOL, "gradient entry", mistakes_b)

    return Case(label, (W, b, X, Y), judge)


def _layer_visible():
    W = np.array([[1.0, 0.0, 2.0], [0.0, 1.0, -1.0]])
    X = np.array([[1.0, 2.0, -1.0], [0.0, 1.0, 1.0], [2.0, -1.0, 0.5], [1.0, 1.0, 1.0]])
    return [
        _layer_case("one example (B = 1): W 2×3, b = (0.5, -1), x = (1, 2, -1), y = (0, 1)",
                    W, [0.5, -1.0], X[:1], [[0.0, 1.0]]),
        _layer_case("a batch of B = 4, W 2×3, b = (0.5, -1)", W, [0.5, -1.0], X,
                    [[0.0, 1.0], [1.0, 0.0], [2.0, 2.0], [-1.0, 0.5]]),
        _layer_case("a perfect fit (both gradients zero), B = 2", [[1.0, 2.0], [3.0, 4.0]], [1.0, -1.0],
                    [[1.0, 1.0], [0.0, 2.0]], [[4.0, 6.0], [5.0, 7.0]]),
    ]


def _layer_hidden(rng):
    cases = []
    for m, n, B in [(3, 3, 5), (2, 5, 1), (4, 1, 7), (1, 4, 3), (3, 2, 3)]:
        cases.append(_layer_case(f"random W {m}×{n}, a batch of B = {B}", rng.normal(size=(m, n)), rng.normal(size=m),
                                 rng.normal(size=(B, n)), rng.normal(size=(B, m))))
    return cases


check = ProblemSet("ps2-chain-rule", [
    Exercise("compose_jacobian", _compose_visible, _compose_hidden, _compose_hard, points=4),
    Exercise("composite_derivative", _composite_visible, _composite_hidden, points=2),
    Exercise("weighted_least_squares_grad", _weighted_visible, _weighted_hidden, points=2),
    Exercise("linear_layer_grads", _layer_visible, _layer_hidden, points=3),
])
