"""The checks of ps3-backprop grade the notebook's solutions, stubs and typical mistakes correctly."""
import numpy as np
import pytest

from diffrn.checks.ps3 import check

ASSIGNMENT = "ps3-backprop"


# --- correct implementations by other methods -------------------------------------------------
def matmul_vjp_loops(W, x, g):
    m, n = W.shape
    g_W = np.zeros((m, n))
    g_x = np.zeros(n)
    for i in range(m):
        for j in range(n):
            g_W[i, j] = g[i] * x[j]
            g_x[j] += W[i, j] * g[i]
    return g_W, g_x


def matmul_vjp_broadcast(W, x, g):
    return g[:, None] * x[None, :], g @ W


def relu_vjp_multiply(x, g):
    return g * (x > 0)


def relu_vjp_copy(x, g):
    out = np.array(g, dtype=float)
    out[x <= 0] = 0.0
    return out


def softmax_vjp_logsumexp(z, g):
    log_s = z - (np.max(z) + np.log(np.sum(np.exp(z - np.max(z)))))
    s = np.exp(log_s)
    return s * g - s * np.dot(s, g)


def softmax_vjp_explicit_jacobian(z, g):
    e = np.exp(z - z.max())
    s = e / e.sum()
    return (np.diag(s) - np.outer(s, s)).T @ g


def cross_entropy_onehot(z, label):
    e = np.exp(z - z.max())
    return e / e.sum() - np.eye(len(z))[label]


def cross_entropy_logsumexp(z, label):
    top = np.max(z)
    log_s = z - (top + np.log(np.sum(np.exp(z - top))))
    grad = np.exp(log_s)
    grad[label] -= 1.0
    return grad


def mlp_grads_full_jacobians(params, x, label):
    """Chains explicit Jacobians (diag(mask), W2, softmax's diag(s) - s sᵀ) instead of VJP shortcuts."""
    W1, b1, W2, b2 = (params[key] for key in ("W1", "b1", "W2", "b2"))
    a1 = W1 @ x + b1
    mask = np.diag((a1 > 0).astype(float))
    h = mask @ a1
    z = W2 @ h + b2
    s = np.exp(z - z.max()) / np.sum(np.exp(z - z.max()))
    dL_ds = np.zeros_like(s)
    dL_ds[label] = -1.0 / s[label]
    dL_dz = dL_ds @ (np.diag(s) - np.outer(s, s))
    dL_da1 = dL_dz @ W2 @ mask
    return {"W1": np.einsum("i,j->ij", dL_da1, x), "b1": dL_da1, "W2": np.einsum("i,j->ij", dL_dz, h), "b2": dL_dz}


def mlp_grads_inline(params, x, label):
    a1 = params["W1"] @ x + params["b1"]
    h = np.maximum(a1, 0)
    z = params["W2"] @ h + params["b2"]
    p = np.exp(z - z.max())
    p /= p.sum()
    p[label] -= 1
    d1 = (params["W2"].T @ p) * (a1 > 0)
    return {"W2": np.outer(p, h), "b2": p, "W1": np.outer(d1, x), "b1": d1}


def jacobian_from_vjp_preallocated(vjp, m):
    first = vjp(np.eye(m)[0])
    J = np.empty((m, len(first)))
    J[0] = first
    for i in range(1, m):
        J[i] = vjp(np.eye(m)[i])
    return J


def jacobian_from_vjp_vstack(vjp, m):
    return np.vstack([vjp(np.eye(m)[i]) for i in range(m)]).astype(float)


def jacobian_from_jvp_preallocated(jvp, n):
    first = jvp(np.eye(n)[0])
    J = np.empty((len(first), n))
    J[:, 0] = first
    for j in range(1, n):
        J[:, j] = jvp(np.eye(n)[j])
    return J


def jacobian_from_jvp_transpose_rows(jvp, n):
    return np.array([jvp(e) for e in np.eye(n)]).T


@pytest.mark.parametrize("name, function", [
    ("matmul_vjp", matmul_vjp_loops), ("matmul_vjp", matmul_vjp_broadcast),
    ("relu_vjp", relu_vjp_multiply), ("relu_vjp", relu_vjp_copy),
    ("softmax_vjp", softmax_vjp_logsumexp), ("softmax_vjp", softmax_vjp_explicit_jacobian),
    ("softmax_cross_entropy_grad", cross_entropy_onehot), ("softmax_cross_entropy_grad", cross_entropy_logsumexp),
    ("mlp_grads", mlp_grads_inline), ("mlp_grads", mlp_grads_full_jacobians),
    ("jacobian_from_vjp", jacobian_from_vjp_preallocated), ("jacobian_from_vjp", jacobian_from_vjp_vstack),
    ("jacobian_from_jvp", jacobian_from_jvp_preallocated), ("jacobian_from_jvp", jacobian_from_jvp_transpose_rows),
])
def test_other_correct_methods_get_full_marks(grader, name, function):
    grader.assert_full_marks(check.exercises[name], function)


# --- typical mistakes and the feedback they get -----------------------------------------------
def matmul_transposed_gW(W, x, g):
    return np.outer(x, g), W.T @ g


def matmul_no_transpose(W, x, g):
    return np.outer(g, x), W @ g if W.shape[0] == W.shape[1] else W.T @ g * 0.5


def matmul_as_list(W, x, g):
    return [np.outer(g, x), W.T @ g]


def matmul_swapped(W, x, g):
    return W.T @ g, np.outer(g, x)


def relu_at_zero(x, g):
    return g * (x >= 0)


def relu_mask_only(x, g):
    return (x > 0).astype(float)


def relu_in_place(x, g):
    g[x <= 0] = 0.0
    return g


def relu_reversed(x, g):
    return g * (x < 0)


def softmax_naive(z, g):
    s = np.exp(z) / np.sum(np.exp(z))
    return s * (g - s @ g)


def softmax_missing_term(z, g):
    e = np.exp(z - z.max())
    s = e / e.sum()
    return s * g


def softmax_sign(z, g):
    e = np.exp(z - z.max())
    s = e / e.sum()
    return s * (s @ g - g)


def softmax_not_times_s(z, g):
    e = np.exp(z - z.max())
    s = e / e.sum()
    return g - s @ g


def cross_entropy_naive(z, label):
    s = np.exp(z) / np.sum(np.exp(z))
    s[label] -= 1
    return s


def cross_entropy_no_onehot(z, label):
    e = np.exp(z - z.max())
    return e / e.sum()


def cross_entropy_sign(z, label):
    e = np.exp(z - z.max())
    return np.eye(len(z))[label] - e / e.sum()


def cross_entropy_label_only(z, label):
    return -np.eye(len(z))[label]


def mlp_no_bias_keys(params, x, label):
    grads = mlp_grads_inline(params, x, label)
    return {"W1": grads["W1"], "W2": grads["W2"]}


def mlp_zero_biases(params, x, label):
    grads = mlp_grads_inline(params, x, label)
    return {**grads, "b1": np.zeros_like(params["b1"]), "b2": np.zeros_like(params["b2"])}


def mlp_wrong_keys(params, x, label):
    grads = mlp_grads_inline(params, x, label)
    return {"d" + key: value for key, value in grads.items()}


def mlp_tuple(params, x, label):
    grads = mlp_grads_inline(params, x, label)
    return grads["W1"], grads["b1"], grads["W2"], grads["b2"]


def mlp_missing_relu_derivative(params, x, label):
    a1 = params["W1"] @ x + params["b1"]
    h = np.maximum(a1, 0)
    z = params["W2"] @ h + params["b2"]
    p = np.exp(z - z.max())
    p /= p.sum()
    p[label] -= 1
    d1 = params["W2"].T @ p
    return {"W2": np.outer(p, h), "b2": p, "W1": np.outer(d1, x), "b1": d1}


def mlp_transposed_weights(params, x, label):
    grads = mlp_grads_inline(params, x, label)
    return {**grads, "W1": grads["W1"].T, "W2": grads["W2"].T}


def mlp_in_place(params, x, label):
    params["W1"] -= 0.0  # harmless...
    params["b1"] += 1e-3  # ...but this one changes the caller's parameters
    return mlp_grads_inline(params, x, label)


def vjp_extra_call(vjp, m):
    n = len(vjp(np.zeros(m)))  # one call too many, just to learn n
    return np.array([vjp(e) for e in np.eye(m)])


def vjp_columns(vjp, m):
    return np.stack([vjp(e) for e in np.eye(m)], axis=1)


def vjp_list(vjp, m):
    return [list(vjp(e)) for e in np.eye(m)]


def vjp_wrong_space(vjp, m):
    """Learns n from the first call, then loops over basis vectors of R^n instead of R^m."""
    n = len(vjp(np.eye(m)[0]))
    return np.array([vjp(e) for e in np.eye(n)])


def vjp_scaled_basis(vjp, m):
    return np.array([vjp(2.0 * e) / 2.0 for e in np.eye(m)])


def jvp_extra_call(jvp, n):
    m = len(jvp(np.zeros(n)))  # an extra call, only to learn m
    J = np.zeros((m, n))
    for j, e in enumerate(np.eye(n)):
        J[:, j] = jvp(e)
    return J


def jvp_twice_per_column(jvp, n):
    return np.stack([(jvp(e) + jvp(e)) / 2 for e in np.eye(n)], axis=1)


def jvp_rows(jvp, n):
    return np.stack([jvp(e) for e in np.eye(n)])


def jvp_column_vectors(jvp, n):
    return np.stack([jvp(e.reshape(-1, 1)) for e in np.eye(n)], axis=1)


@pytest.mark.parametrize("name, function, keywords", [
    ("matmul_vjp", matmul_transposed_gW, ["transpose"]),
    ("matmul_vjp", matmul_no_transpose, ["adjoint identity", "Wᵀ g"]),
    ("matmul_vjp", matmul_as_list, ["tuple", "list"]),
    ("matmul_vjp", matmul_swapped, ["wrong order"]),
    ("relu_vjp", relu_at_zero, ["x > 0"]),
    ("relu_vjp", relu_mask_only, ["multiply it by the incoming gradient"]),
    ("relu_vjp", relu_in_place, ["modified in place"]),
    ("relu_vjp", relu_reversed, ["reversed"]),
    ("softmax_vjp", softmax_naive, ["overflow", "subtract max(z)", "NaN or inf"]),
    ("softmax_vjp", softmax_missing_term, ["diag(s) - s sᵀ"]),
    ("softmax_vjp", softmax_sign, ["sign"]),
    ("softmax_vjp", softmax_not_times_s, ["multiply by s"]),
    ("softmax_cross_entropy_grad", cross_entropy_naive, ["overflow", "max(z)"]),
    ("softmax_cross_entropy_grad", cross_entropy_no_onehot, ["one-hot"]),
    ("softmax_cross_entropy_grad", cross_entropy_sign, ["sign"]),
    ("softmax_cross_entropy_grad", cross_entropy_label_only, ["-z_label", "log-sum-exp"]),
    ("mlp_grads", mlp_no_bias_keys, ["bias", "key"]),
    ("mlp_grads", mlp_zero_biases, ["bias", "zero"]),
    ("mlp_grads", mlp_wrong_keys, ["wrong key set"]),
    ("mlp_grads", mlp_tuple, ["dict", "tuple"]),
    ("mlp_grads", mlp_missing_relu_derivative, ["ReLU derivative"]),
    ("mlp_grads", mlp_transposed_weights, ["transpose", "shape"]),
    ("mlp_grads", mlp_in_place, ["modified in place"]),
    ("jacobian_from_vjp", vjp_extra_call, ["calls"]),
    ("jacobian_from_vjp", vjp_columns, ["transpose"]),
    ("jacobian_from_vjp", vjp_list, ["list"]),
    ("jacobian_from_vjp", vjp_wrong_space, ["length"]),
    ("jacobian_from_vjp", vjp_scaled_basis, ["not a standard basis vector"]),
    ("jacobian_from_jvp", jvp_twice_per_column, ["calls"]),
    ("jacobian_from_jvp", jvp_rows, ["transpose"]),
    ("jacobian_from_jvp", jvp_column_vectors, ["1-D vector of length"]),
    ("jacobian_from_jvp", jvp_extra_call, ["calls", "extra call"]),
])
def test_mistakes_lose_points_and_are_named(grader, name, function, keywords):
    grader.assert_diagnosed(check.exercises[name], function, *keywords)


@pytest.mark.parametrize("name, function", [
    ("softmax_vjp", softmax_naive), ("softmax_cross_entropy_grad", cross_entropy_naive),
    ("jacobian_from_vjp", vjp_extra_call), ("jacobian_from_jvp", jvp_twice_per_column),
])
def test_failing_only_the_hard_case_keeps_the_main_points(grader, name, function):
    """Partial credit: the hard cases live in their own test cell, and only they fail here."""
    exercise = check.exercises[name]
    grader.assert_full_marks(exercise, function, only=("visible", "hidden"))
    grader.assert_diagnosed(exercise, function, only=("hard",))


def test_call_counts_are_reported(grader):
    message = grader.run(check.jacobian_from_vjp, vjp_extra_call, "hard", "alice")
    assert "made" in message and "expected exactly" in message


@pytest.mark.parametrize("name, function", [
    ("matmul_vjp", matmul_transposed_gW), ("softmax_vjp", softmax_naive),
    ("mlp_grads", mlp_zero_biases), ("mlp_grads", mlp_in_place), ("jacobian_from_vjp", vjp_extra_call),
])
def test_verdicts_are_the_same_when_judged_apart(grader, solutions, name, function):
    grader.assert_same_when_detached(check.exercises[name], solutions[name])
    grader.assert_same_when_detached(check.exercises[name], function)
