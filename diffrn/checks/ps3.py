"""Checks for ps3-backprop: vector-Jacobian products, a two-layer network, Jacobians from VJPs/JVPs.

Notebook usage::

    from diffrn.checks.ps3 import check
    check.softmax_vjp(softmax_vjp)                # visible cases
    check.softmax_vjp(softmax_vjp, hidden=True)   # hidden cases, drawn per student
    check.softmax_vjp(softmax_vjp, part="hard")   # logits as large as 1000
"""
from __future__ import annotations

import numpy as np

from diffrn.checks.core import (
    Answer, Case, CheckFailure, Exercise, ProblemSet, expect_adjoint, expect_array, expect_close_named,
    expect_tuple, flag, flagged,
)
from diffrn.checks.functions import LinearOracle

# Every answer here is an exact formula: only rounding error is allowed.
EXACT_RTOL = 1e-9
MAX_SUBTRACTION = "subtract max(z) before exp (softmax(z) = softmax(z - max(z)))"


def _softmax(z):
    z = np.asarray(z, dtype=np.float64)
    e = np.exp(z - np.max(z))
    return e / np.sum(e)


def _directions(rng, shape, count=3):
    return [rng.normal(size=shape) for _ in range(count)]


def _adjoint_then_named(found, expected, cotangent, forward_of, directions, label, what, mistakes, identity):
    """The adjoint identity first (the property); if it fails, say how ``found`` differs from Jᵀu."""
    try:
        expect_adjoint(cotangent, forward_of, directions, found, label, EXACT_RTOL, what, identity)
    except CheckFailure as failure:
        try:
            expect_close_named(found, expected, f"Compared with the exact {what}", EXACT_RTOL, f"{what} entry", mistakes)
        except CheckFailure as named:
            raise CheckFailure(f"{failure} {named}") from None
        raise
    expect_close_named(found, expected, label, EXACT_RTOL, f"{what} entry", mistakes)


# --- matmul_vjp -------------------------------------------------------------------------------
def _matmul_case(label, W, x, g, rng):
    W, x, g = (np.asarray(a, dtype=np.float64) for a in (W, x, g))
    m, n = W.shape
    expected_W, expected_x = np.outer(g, x), W.T @ g
    directions_W, directions_x = _directions(rng, (m, n)), _directions(rng, (n,))

    def judge(answer: Answer):
        g_W, g_x = expect_tuple(answer, ("g_W", "g_x"), label)
        if g_W.shape == (n,) and g_x.shape == (m, n):
            raise CheckFailure(f"{label}: your tuple is in the wrong order: return (g_W, g_x), the gradient "
                               "for W first (shape of W), then the one for x (shape of x).")
        found_W = expect_array(g_W, (m, n), f"{label}, g_W", f"g_W has the shape of W, {m}×{n}")
        found_x = expect_array(g_x, (n,), f"{label}, g_x", f"g_x has the shape of x, ({n},)")
        _adjoint_then_named(
            found_W, expected_W, g, lambda V: V @ x, directions_W, f"{label}, g_W", "g_W",
            [(np.outer(x, g), "Your g_W is transposed: ∂L/∂W_ij = g_i x_j, i.e. np.outer(g, x)."),
             (-expected_W, "Your g_W has the wrong sign.")],
            ("<g, V x>", "<g_W, V>"))
        _adjoint_then_named(
            found_x, expected_x, g, lambda v: W @ v, directions_x, f"{label}, g_x", "g_x",
            [(W @ g if m == n else np.zeros(0), "You multiplied g by W; the VJP uses the transpose: g_x = Wᵀ g."),
             (-expected_x, "Your g_x has the wrong sign.")],
            ("<g, W v>", "<g_x, v>"))

    return Case(label, (W, x, g), judge)


def _matmul_visible():
    rng = np.random.default_rng(30)
    return [
        _matmul_case("W 2×3, x = (1, 2, 3), g = (1, -1)", [[1.0, 0.0, 2.0], [-1.0, 3.0, 1.0]], [1.0, 2.0, 3.0],
                     [1.0, -1.0], rng),
        _matmul_case("W 2×2, x = (1, -1), g = (0.5, 2)", [[1.0, 2.0], [3.0, 4.0]], [1.0, -1.0], [0.5, 2.0], rng),
        _matmul_case("W 1×2 (a scalar output), g = (3,)", [[2.0, -1.0]], [0.5, 4.0], [3.0], rng),
    ]


def _matmul_hidden(rng):
    return [_matmul_case(f"random W {m}×{n}", rng.normal(size=(m, n)), rng.normal(size=n), rng.normal(size=m), rng)
            for m, n in [(3, 3), (2, 5), (4, 1), (6, 4)]]


# --- relu_vjp ---------------------------------------------------------------------------------
def _relu_case(label, x, g):
    x, g = np.asarray(x, dtype=np.float64), np.asarray(g, dtype=np.float64)
    n = x.size
    expected = g * (x > 0)
    mistakes = [
        (g * (x >= 0), "At x = 0 the course uses the subgradient 0: the mask is x > 0, not x >= 0."),
        ((x > 0).astype(float), "You returned the mask 1[x > 0] alone; multiply it by the incoming gradient g."),
        (g * np.maximum(x, 0), "You multiplied g by relu(x); the derivative of relu is the step 1[x > 0]."),
        (g * (x < 0), "Your mask is reversed: relu passes the gradient where x > 0."),
    ]

    def judge(answer: Answer):
        found = expect_array(answer, (n,), label, "the gradient has the shape of x")
        expect_close_named(found, expected, label, EXACT_RTOL, "gradient entry", mistakes)

    return Case(label, (x, g), judge)


def _relu_visible():
    return [
        _relu_case("x = (-1, 2, 0.5, -3), g = (1, 2, 3, 4)", [-1.0, 2.0, 0.5, -3.0], [1.0, 2.0, 3.0, 4.0]),
        _relu_case("x = (0, 1, 0), g = (5, 6, 7) (zeros get subgradient 0)", [0.0, 1.0, 0.0], [5.0, 6.0, 7.0]),
        _relu_case("x = (2, 3), g = (-1, 0.5)", [2.0, 3.0], [-1.0, 0.5]),
    ]


def _relu_hidden(rng):
    cases = []
    for n in (5, 8, 12):
        x = rng.normal(size=n)
        x[rng.choice(n, size=2, replace=False)] = 0.0
        cases.append(_relu_case(f"random x and g of length {n} (with zeros in x)", x, rng.normal(size=n)))
    return cases


# --- softmax_vjp ------------------------------------------------------------------------------
def _overflow_message(label, answer: Answer):
    if answer.kind == "ndarray" and answer.values is not None and not np.all(np.isfinite(answer.values)):
        raise CheckFailure(
            f"{label}: your answer contains NaN or inf: exp overflowed (or every exp underflowed to 0) for "
            f"these large logits. {MAX_SUBTRACTION[0].upper() + MAX_SUBTRACTION[1:]}."
        )


def _quiet_call(args):
    """Call with numpy's overflow warnings off; an OverflowError from math.exp becomes a flag."""

    def call(function):
        with np.errstate(all="ignore"):
            try:
                return function(*args)
            except (OverflowError, FloatingPointError) as error:
                return flag("overflow", f"{type(error).__name__}: {error}"[:150])

    return call


def _softmax_judge(label, n, expected, mistakes, large):
    """Judge a gradient with respect to logits: overflow first, then shape, then the value."""

    def judge(answer: Answer):
        problem = flagged(answer)
        if problem:
            raise CheckFailure(f"{label}: your function raised {problem[1][0].text} — exp overflowed. "
                               f"{MAX_SUBTRACTION[0].upper() + MAX_SUBTRACTION[1:]}.")
        if large:
            _overflow_message(label, answer)
        found = expect_array(answer, (n,), label, "the gradient has the shape of z")
        try:
            expect_close_named(found, expected, label, EXACT_RTOL, "gradient entry", mistakes)
        except CheckFailure as failure:
            if large:
                raise CheckFailure(f"{failure} With logits this large, {MAX_SUBTRACTION}.") from None
            raise

    return judge


def _softmax_vjp_case(label, z, g, large=False):
    z, g = np.asarray(z, dtype=np.float64), np.asarray(g, dtype=np.float64)
    n = z.size
    s = _softmax(z)
    expected = s * (g - s @ g)
    mistakes = [
        (s * g, "The -s (sᵀg) term is missing: softmax's Jacobian is diag(s) - s sᵀ, so the VJP is s * (g - s·g)."),
        (-expected, "Your answer has the wrong sign: the VJP is s * (g - s·g)."),
        (g - s @ g, "Multiply by s: the VJP is s * (g - s·g)."),
    ]

    judge = _softmax_judge(label, n, expected, mistakes, large)

    args = (z, g)
    return Case(label, args, judge, call=_quiet_call(args) if large else None)


def _softmax_vjp_visible():
    return [
        _softmax_vjp_case("z = (1, 2, 3), g = (1, 0, 0)", [1.0, 2.0, 3.0], [1.0, 0.0, 0.0]),
        _softmax_vjp_case("z = (0, 0), g = (1, -1)", [0.0, 0.0], [1.0, -1.0]),
        _softmax_vjp_case("z = (0.5, -1, 2, 0), g = (0.3, 1, -2, 0.5)", [0.5, -1.0, 2.0, 0.0], [0.3, 1.0, -2.0, 0.5]),
        _softmax_vjp_case("g constant (the VJP is zero: softmax ignores shifts)", [1.0, -2.0, 0.5], [2.0, 2.0, 2.0]),
    ]


def _softmax_vjp_hidden(rng):
    return [_softmax_vjp_case(f"random z and g of length {n}", rng.normal(scale=2, size=n), rng.normal(size=n))
            for n in (2, 5, 9)]


def _large_logits(rng):
    """Logit vectors as large as 1000 in absolute value, each with a label for what it tests."""
    n = int(rng.integers(3, 7))
    mixed = rng.normal(scale=2, size=n)
    mixed[0], mixed[1] = 1000.0, -1000.0
    return [
        ("logits near +1000", 1000.0 + rng.normal(scale=2, size=n)),
        ("logits near -1000", -1000.0 + rng.normal(scale=2, size=n)),
        ("logits from -1000 to 1000", mixed),
        ("logits spread over ±1000", np.clip(rng.normal(scale=400, size=n + 2), -1000, 1000)),
    ]


def _softmax_vjp_hard(rng):
    return [_softmax_vjp_case(f"{what} (z has length {z.size})", z, rng.normal(size=z.size), large=True)
            for what, z in _large_logits(rng)]


# --- softmax_cross_entropy_grad ---------------------------------------------------------------
def _cross_entropy_case(label, z, target, large=False):
    z = np.asarray(z, dtype=np.float64)
    n = z.size
    s = _softmax(z)
    onehot = np.zeros(n)
    onehot[target] = 1.0
    expected = s - onehot
    mistakes = [
        (s, "You returned softmax(z); subtract the one-hot vector of the label: ∇ = softmax(z) - e_label."),
        (onehot - s, "Your gradient has the wrong sign: it is softmax(z) - e_label."),
        (-onehot, "You differentiated only -z_label; the log-sum-exp term log Σ exp(z_j) contributes softmax(z): "
                  "∇ = softmax(z) - e_label."),
    ]

    judge = _softmax_judge(label, n, expected, mistakes, large)

    args = (z, int(target))
    return Case(label, args, judge, call=_quiet_call(args) if large else None)


def _cross_entropy_visible():
    return [
        _cross_entropy_case("z = (1, 2, 3), label 0", [1.0, 2.0, 3.0], 0),
        _cross_entropy_case("z = (0, 0, 0, 0), label 2", [0.0, 0.0, 0.0, 0.0], 2),
        _cross_entropy_case("z = (2, -1), label 1", [2.0, -1.0], 1),
    ]


def _cross_entropy_hidden(rng):
    cases = []
    for n in (3, 6, 10):
        cases.append(_cross_entropy_case(f"random z of length {n}", rng.normal(scale=2, size=n), int(rng.integers(n))))
    return cases


def _cross_entropy_hard(rng):
    return [_cross_entropy_case(f"{what}, label {target} (z has length {z.size})", z, target, large=True)
            for (what, z), target in ((item, int(rng.integers(item[1].size))) for item in _large_logits(rng))]


# --- mlp_grads --------------------------------------------------------------------------------
KEYS = ("W1", "b1", "W2", "b2")


def _mlp_reference(params, x, target):
    a1 = params["W1"] @ x + params["b1"]
    h = np.maximum(a1, 0.0)
    z = params["W2"] @ h + params["b2"]
    dz = _softmax(z)
    dz[target] -= 1.0
    da1 = (params["W2"].T @ dz) * (a1 > 0)
    grads = {"W1": np.outer(da1, x), "b1": da1, "W2": np.outer(dz, h), "b2": dz}
    no_mask = params["W2"].T @ dz
    wrong = {
        "W1": [(np.outer(no_mask, x), "The ReLU derivative is missing: multiply W2ᵀδ2 by 1[W1 x + b1 > 0] "
                                      "before the outer product with x.")],
        "b1": [(no_mask, "The ReLU derivative is missing: ∂L/∂b1 = (W2ᵀδ2) * 1[W1 x + b1 > 0].")],
        "W2": [(np.outer(dz, a1), "You used the pre-activation W1 x + b1; W2 multiplies h = relu(W1 x + b1), so "
                                  "∂L/∂W2 = δ2 hᵀ.")],
        "b2": [],
    }
    for key in KEYS:
        wrong[key].append((-grads[key], "Your gradient has the wrong sign: δ2 = softmax(z) - e_label, not e_label - softmax(z)."))
        if grads[key].ndim == 2:
            wrong[key].append((grads[key].T if grads[key].shape[0] == grads[key].shape[1] else np.zeros(0),
                               "Your matrix is the transpose of the right one."))
    return grads, wrong


def _mlp_case(label, params, x, target):
    params = {key: np.array(params[key], dtype=np.float64) for key in KEYS}
    x = np.asarray(x, dtype=np.float64)
    expected, mistakes = _mlp_reference(params, x, target)

    def call(student_mlp_grads):
        snapshot = {key: value.copy() for key, value in params.items()}
        result = student_mlp_grads(params, x, target)
        changed = [key for key in KEYS if key not in params or not np.array_equal(params[key], snapshot[key])]
        if changed or set(params) != set(KEYS):
            params.clear()
            params.update(snapshot)  # so the next call sees the original parameters
            return flag("modified", ",".join(changed) or "keys")
        if type(result) is not dict:
            return flag("not dict", type(result).__name__)
        keys = sorted(str(key) for key in dict.keys(result))
        return flag("dict", ",".join(keys), *(dict.get(result, key) for key in KEYS))

    def judge(answer: Answer):
        problem = flagged(answer)
        code, details = problem if problem else ("not dict", [answer])
        if code == "modified":
            raise CheckFailure(f"{label}: params[{details[0].text!r}] was modified in place. Compute new arrays "
                               "(W1 @ x + b1 creates one) instead of writing into the parameters.")
        if code == "not dict":
            returned = details[0].text if problem else answer.type_name
            raise CheckFailure(f"{label}: expected a dict with the keys of params {list(KEYS)}; you returned a "
                               f"{returned}.")
        keys = [key for key in details[0].text.split(",") if key]
        missing = [key for key in KEYS if key not in keys]
        extra = [key for key in keys if key not in KEYS]
        if missing or extra:
            biases = [key for key in missing if key.startswith("b")]
            note = (f" The bias gradient{'s' if len(biases) > 1 else ''} {', '.join(biases)} "
                    f"{'are' if len(biases) > 1 else 'is'} missing: biases move the loss too." if biases else "")
            raise CheckFailure(f"{label}: wrong key set: expected the keys of params {sorted(KEYS)}, found "
                               f"{keys}.{note}")
        for key, item in zip(KEYS, details[1:]):
            where = f"{label}, gradient for {key}"
            found = expect_array(item, expected[key].shape, where, f"it has the shape of params[{key!r}]")
            if key.startswith("b") and not np.any(found) and np.any(expected[key]):
                layer = "output" if key == "b2" else "hidden"
                raise CheckFailure(f"{where}: your bias gradient is all zeros, but the {layer} bias shifts the "
                                   f"{'logits' if key == 'b2' else 'pre-activations'} directly: its gradient is the "
                                   f"δ of that layer ({'softmax(z) - e_label' if key == 'b2' else '(W2ᵀδ2) * 1[W1 x + b1 > 0]'}).")
            expect_close_named(found, expected[key], where, EXACT_RTOL, "gradient entry", mistakes[key])

    return Case(label, (params, x, int(target)), judge, call=call)


def _mlp_params(rng, d, h, k):
    return {"W1": rng.normal(size=(h, d)) / np.sqrt(d), "b1": rng.normal(size=h) * 0.5,
            "W2": rng.normal(size=(k, h)) / np.sqrt(h), "b2": rng.normal(size=k) * 0.5}


def _mlp_visible():
    params = {"W1": np.array([[1.0, -1.0], [0.5, 2.0], [-1.0, 0.5]]), "b1": np.array([0.1, -0.2, 0.3]),
              "W2": np.array([[1.0, 0.0, -1.0], [0.5, 1.0, 2.0]]), "b2": np.array([0.0, 0.1])}
    return [
        _mlp_case("d = 2, h = 3, k = 2, x = (1, 0.5), label 1", params, [1.0, 0.5], 1),
        _mlp_case("the same network, x = (-1, 2), label 0", params, [-1.0, 2.0], 0),
        _mlp_case("d = 3, h = 4, k = 3 (fixed random weights)", _mlp_params(np.random.default_rng(3), 3, 4, 3),
                  [0.5, -1.0, 2.0], 2),
    ]


def _mlp_hidden(rng):
    return [_mlp_case(f"a random network with d = {d}, h = {h}, k = {k}", _mlp_params(rng, d, h, k),
                      rng.normal(size=d), int(rng.integers(k)))
            for d, h, k in [(3, 5, 2), (4, 6, 3), (2, 8, 4)]]


# --- jacobian_from_vjp / jacobian_from_jvp ----------------------------------------------------
class BasisOracle(LinearOracle):
    """A :class:`LinearOracle` that also counts the calls whose vector is not a standard basis vector."""

    def __init__(self, J, mode: str):
        super().__init__(J, mode)
        self.non_basis = 0

    def __call__(self, vector):
        result = super().__call__(vector)  # rejects a vector of the wrong shape
        values = np.asarray(vector, dtype=np.float64)
        if not (np.count_nonzero(values) == 1 and float(np.max(values)) == 1.0):
            self.non_basis += 1
        return result


def _from_products_case(label, J, mode, count_calls):
    J = np.asarray(J, dtype=np.float64)
    m, n = J.shape
    size = m if mode == "vjp" else n
    name = f"jacobian_from_{mode}"
    basis = "e_i in R^m; row i of J is vjp(e_i)" if mode == "vjp" else "e_j in R^n; column j of J is jvp(e_j)"

    def call(student):
        oracle = BasisOracle(J, mode)  # a fresh counter for every call
        return flag("counted", student(oracle, size), oracle.calls, oracle.non_basis)

    def judge(answer: Answer):
        problem = flagged(answer)
        result, calls, non_basis = (problem[1][0], problem[1][1], problem[1][2]) if problem else (answer, None, None)
        why = f"{mode} comes from a map R^{n} → R^{m}"
        found = expect_array(result, (m, n), label, why)
        hint = ("Row i is vjp(e_i): stack them as rows (np.stack(rows) or np.array(rows))." if mode == "vjp" else
                "Column j is jvp(e_j): stack them as columns (np.stack(columns, axis=1)).")
        expect_close_named(found, J, label, EXACT_RTOL, "Jacobian entry",
                           [(J.T if m == n else np.zeros(0), f"Your matrix is the transpose of the right one. {hint}")])
        if count_calls and calls is not None:
            made = int(round(float(calls.values)))
            if made != size:
                what = "outputs m" if mode == "vjp" else "inputs n"
                raise CheckFailure(
                    f"{label}: {name} made {made} calls to {mode}; expected exactly {size} calls, one per basis "
                    f"vector ({what} = {size}; {basis}). Learn the other dimension from the first result instead "
                    "of an extra call."
                )
            others = int(round(float(non_basis.values)))
            if others:
                raise CheckFailure(
                    f"{label}: {others} of your {made} calls passed a vector that is not a standard basis vector "
                    f"(one entry 1, the others 0); {basis}. Other vectors need extra arithmetic to untangle and "
                    "lose accuracy."
                )

    return Case(label, (LinearOracle(J, mode), size), judge, call=call)


def _from_vjp_visible():
    return [
        _from_products_case("J = [[1, 2, 3], [4, 5, 6]] (m = 2, n = 3)", [[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]], "vjp", False),
        _from_products_case("J = [[1, 2], [3, 4]]", [[1.0, 2.0], [3.0, 4.0]], "vjp", False),
        _from_products_case("J = [[2, -1, 0, 1]] (a scalar function, m = 1)", [[2.0, -1.0, 0.0, 1.0]], "vjp", False),
    ]


def _from_jvp_visible():
    return [
        _from_products_case("J = [[1, 2, 3], [4, 5, 6]] (m = 2, n = 3)", [[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]], "jvp", False),
        _from_products_case("J = [[1, 2], [3, 4]]", [[1.0, 2.0], [3.0, 4.0]], "jvp", False),
        _from_products_case("J = [[2], [-1], [3]] (a curve, n = 1)", [[2.0], [-1.0], [3.0]], "jvp", False),
    ]


def _random_products(rng, mode, count_calls, shapes):
    return [_from_products_case(f"a random {m}×{n} Jacobian" + (" (counting calls)" if count_calls else ""),
                                rng.normal(size=(m, n)), mode, count_calls) for m, n in shapes]


def _from_vjp_hidden(rng):
    return _random_products(rng, "vjp", False, [(3, 3), (2, 5), (4, 2), (1, 6)])


def _from_vjp_hard(rng):
    return _random_products(rng, "vjp", True, [(2, 40), (1, 7), (5, 3), (4, 4)])


def _from_jvp_hidden(rng):
    return _random_products(rng, "jvp", False, [(3, 3), (5, 2), (2, 4), (6, 1)])


def _from_jvp_hard(rng):
    return _random_products(rng, "jvp", True, [(40, 2), (7, 1), (3, 5), (4, 4)])


check = ProblemSet("ps3-backprop", [
    Exercise("matmul_vjp", _matmul_visible, _matmul_hidden, points=2),
    Exercise("relu_vjp", _relu_visible, _relu_hidden, points=2),
    Exercise("softmax_vjp", _softmax_vjp_visible, _softmax_vjp_hidden, _softmax_vjp_hard, points=3),
    Exercise("softmax_cross_entropy_grad", _cross_entropy_visible, _cross_entropy_hidden, _cross_entropy_hard, points=3),
    Exercise("mlp_grads", _mlp_visible, _mlp_hidden, points=4),
    Exercise("jacobian_from_vjp", _from_vjp_visible, _from_vjp_hidden, _from_vjp_hard, points=3),
    Exercise("jacobian_from_jvp", _from_jvp_visible, _from_jvp_hidden, _from_jvp_hard, points=3),
])
