"""The optimizer family: kernels vs reference, hand-computed steps, torch, API and errors."""

import math

import numpy as np
import pytest
from numpy.testing import assert_allclose

from fastnn import MLP, compare_optimizers, kernels, optimizers
from fastnn.kernels import reference

CONFIGS = {
    "sgd": optimizers.SGD(lr=0.1),
    "sgd-decay": optimizers.SGD(lr=0.1, weight_decay=0.1),
    "sgd-momentum-dampening": optimizers.SGD(lr=0.1, momentum=0.8, dampening=0.3),
    "momentum": optimizers.Momentum(lr=0.1),
    "nesterov": optimizers.Nesterov(lr=0.1, momentum=0.9),
    "nesterov-decay": optimizers.SGD(lr=0.1, momentum=0.5, nesterov=True, weight_decay=0.01),
    "adagrad": optimizers.AdaGrad(lr=0.1),
    "adagrad-decay": optimizers.AdaGrad(lr=0.1, lr_decay=0.5, weight_decay=0.05),
    "rmsprop": optimizers.RMSProp(lr=0.01),
    "rmsprop-centered": optimizers.RMSProp(lr=0.01, centered=True),
    "rmsprop-momentum": optimizers.RMSProp(lr=0.01, momentum=0.9, weight_decay=0.01),
    "rmsprop-all": optimizers.RMSProp(lr=0.01, momentum=0.5, centered=True),
    "adadelta": optimizers.Adadelta(),
    "adadelta-decay": optimizers.Adadelta(lr=0.5, rho=0.8, weight_decay=0.1),
    "adam": optimizers.Adam(),
    "adam-amsgrad": optimizers.Adam(lr=0.01, amsgrad=True, weight_decay=0.01),
    "adamw": optimizers.AdamW(),
    "adamw-amsgrad": optimizers.AdamW(lr=0.01, weight_decay=0.1, amsgrad=True),
}


def fresh(optimizer):
    return type(optimizer)(**optimizer.get_params())


def run_steps(module, optimizer, theta, gradients):
    theta = theta.copy()
    state = np.zeros((3, theta.size), dtype=theta.dtype)
    step = np.zeros(1, dtype=np.int64)
    hyper = optimizer.hyper_vector(theta.dtype)
    for grad in gradients:
        module.optimizer_step(optimizer.code, theta, grad, state, hyper, step)
    return theta, state, step[0]


@pytest.mark.parametrize("name", CONFIGS)
@pytest.mark.parametrize("dtype, rtol", [(np.float64, 1e-12), (np.float32, 1e-5)])
def test_kernel_matches_reference_for_50_steps(name, dtype, rtol):
    rng = np.random.default_rng(1)
    theta = rng.standard_normal(37).astype(dtype)
    gradients = [rng.standard_normal(37).astype(dtype) for _ in range(50)]
    gradients[3][:5] = 0  # zero gradients still move the state
    got = run_steps(kernels, CONFIGS[name], theta, gradients)
    want = run_steps(reference, CONFIGS[name], theta, gradients)
    assert got[2] == want[2] == 50
    # Entries that cancel to near zero are judged against the vector's scale.
    for actual, desired in zip(got[:2], want[:2], strict=True):
        assert_allclose(actual, desired, rtol=rtol, atol=rtol * np.abs(desired).max())
    assert not np.allclose(got[0], theta)


def hand_computed():
    """Two steps on one parameter theta=1 with gradients 0.5 then 0.01, written out."""
    g1, g2 = 0.5, 0.01
    sqrt = math.sqrt
    cases = {}
    # SGD lr=0.1
    cases["sgd"] = (optimizers.SGD(lr=0.1), 1 - 0.1 * g1 - 0.1 * g2)
    # SGD lr=0.1, weight_decay=0.1: g += 0.1 * theta
    t1 = 1 - 0.1 * (g1 + 0.1 * 1)
    cases["sgd-decay"] = (optimizers.SGD(lr=0.1, weight_decay=0.1), t1 - 0.1 * (g2 + 0.1 * t1))
    # Momentum lr=0.1, mu=0.9: b1 = g1, b2 = 0.9 b1 + g2
    b1 = g1
    b2 = 0.9 * b1 + g2
    cases["momentum"] = (optimizers.Momentum(lr=0.1), 1 - 0.1 * b1 - 0.1 * b2)
    # Nesterov lr=0.1, mu=0.9: step with g + mu b
    cases["nesterov"] = (
        optimizers.Nesterov(lr=0.1),
        1 - 0.1 * (g1 + 0.9 * b1) - 0.1 * (g2 + 0.9 * b2),
    )
    # AdaGrad lr=0.1, lr_decay=0.5: s1 = g1^2, s2 = g1^2 + g2^2, clr2 = 0.1 / 1.5
    t1 = 1 - 0.1 * g1 / (sqrt(g1**2) + 1e-10)
    t2 = t1 - 0.1 / 1.5 * g2 / (sqrt(g1**2 + g2**2) + 1e-10)
    cases["adagrad"] = (optimizers.AdaGrad(lr=0.1, lr_decay=0.5), t2)
    # RMSProp lr=0.01, alpha=0.99
    v1 = 0.01 * g1**2
    v2 = 0.99 * v1 + 0.01 * g2**2
    t1 = 1 - 0.01 * g1 / (sqrt(v1) + 1e-8)
    cases["rmsprop"] = (optimizers.RMSProp(lr=0.01), t1 - 0.01 * g2 / (sqrt(v2) + 1e-8))
    # RMSProp centered with momentum 0.5
    m1 = 0.01 * g1
    m2 = 0.99 * m1 + 0.01 * g2
    a1 = sqrt(v1 - m1**2) + 1e-8
    a2 = sqrt(v2 - m2**2) + 1e-8
    b1 = g1 / a1
    b2 = 0.5 * b1 + g2 / a2
    cases["rmsprop-centered-momentum"] = (
        optimizers.RMSProp(lr=0.01, momentum=0.5, centered=True),
        1 - 0.01 * b1 - 0.01 * b2,
    )
    # Adadelta lr=1, rho=0.9, eps=1e-6
    v1 = 0.1 * g1**2
    d1 = sqrt(0 + 1e-6) / sqrt(v1 + 1e-6) * g1
    u1 = 0.1 * d1**2
    v2 = 0.9 * v1 + 0.1 * g2**2
    d2 = sqrt(u1 + 1e-6) / sqrt(v2 + 1e-6) * g2
    cases["adadelta"] = (optimizers.Adadelta(), 1 - d1 - d2)
    # Adam lr=1e-3, betas (0.9, 0.999), eps=1e-8
    m1, v1 = 0.1 * g1, 0.001 * g1**2
    m2, v2 = 0.9 * m1 + 0.1 * g2, 0.999 * v1 + 0.001 * g2**2
    t1 = 1 - 1e-3 / (1 - 0.9) * m1 / (sqrt(v1) / sqrt(1 - 0.999) + 1e-8)
    t2 = t1 - 1e-3 / (1 - 0.9**2) * m2 / (sqrt(v2) / sqrt(1 - 0.999**2) + 1e-8)
    cases["adam"] = (optimizers.Adam(), t2)
    # AMSGrad: v2 < v1 here, so the second step divides by sqrt(v1)
    assert v2 < v1
    t2 = t1 - 1e-3 / (1 - 0.9**2) * m2 / (sqrt(v1) / sqrt(1 - 0.999**2) + 1e-8)
    cases["amsgrad"] = (optimizers.Adam(amsgrad=True), t2)
    # AdamW lr=1e-3, weight_decay=0.1: theta *= 1 - 1e-4 before each Adam step
    t1 = 1 * (1 - 1e-4) - 1e-3 / (1 - 0.9) * m1 / (sqrt(v1) / sqrt(1 - 0.999) + 1e-8)
    t2 = t1 * (1 - 1e-4) - 1e-3 / (1 - 0.9**2) * m2 / (sqrt(v2) / sqrt(1 - 0.999**2) + 1e-8)
    cases["adamw"] = (optimizers.AdamW(weight_decay=0.1), t2)
    return cases


HAND = hand_computed()


@pytest.mark.parametrize("name", HAND)
def test_two_steps_by_hand(name):
    optimizer, expected = HAND[name]
    gradients = [np.array([0.5]), np.array([0.01])]
    for module in (kernels, reference):
        theta, _, _ = run_steps(module, optimizer, np.array([1.0]), gradients)
        assert theta[0] == pytest.approx(expected, rel=1e-12, abs=1e-15), module.__name__


@pytest.mark.parametrize("name", CONFIGS)
def test_matches_torch_optim(name):
    torch = pytest.importorskip("torch")
    optimizer = CONFIGS[name]
    rng = np.random.default_rng(5)
    theta0 = rng.standard_normal(23)
    gradients = [rng.standard_normal(23) for _ in range(30)]
    got, _, _ = run_steps(kernels, optimizer, theta0, gradients)
    param = torch.nn.Parameter(torch.tensor(theta0, dtype=torch.float64))
    params = optimizer.get_params()
    classes = {
        "sgd": torch.optim.SGD,
        "momentum": torch.optim.SGD,
        "nesterov": torch.optim.SGD,
        "adagrad": torch.optim.Adagrad,
        "rmsprop": torch.optim.RMSprop,
        "adadelta": torch.optim.Adadelta,
        "adam": torch.optim.Adam,
        "adamw": torch.optim.AdamW,
    }
    if optimizer.name == "nesterov":
        params["nesterov"] = True
    torch_optimizer = classes[optimizer.name]([param], **params)
    for grad in gradients:
        param.grad = torch.tensor(grad)
        torch_optimizer.step()
    assert_allclose(got, param.detach().numpy(), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("name", CONFIGS)
@pytest.mark.parametrize("batch_size", [1, 8])
def test_backends_train_to_the_same_weights(name, batch_size):
    rng = np.random.default_rng(3)
    X = rng.standard_normal((48, 5))
    X[X < -0.5] = 0
    T = rng.integers(0, 3, 48)
    thetas = []
    for backend in ("numba", "numpy"):
        net = MLP([5, 20, 6, 3], hidden=["relu", "tanh"], dtype="float64", seed=2, backend=backend)
        net.fit(X, T, optimizer=fresh(CONFIGS[name]), epochs=2, batch_size=batch_size)
        thetas.append(net.theta.copy())
    assert_allclose(thetas[0], thetas[1], rtol=1e-6, atol=1e-10)


def test_per_sample_adam_matches_torch_training():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    X = rng.standard_normal((30, 6))
    labels = rng.integers(0, 4, 30)
    net = MLP([6, 8, 4], hidden="relu", output="softmax", dtype="float64", seed=1)
    W1, b1, W2, b2 = (
        torch.tensor(net.params[k].copy(), requires_grad=True) for k in ("W1", "b1", "W2", "b2")
    )
    net.fit(X, labels, optimizer=optimizers.Adam(lr=0.01), epochs=1, batch_size=1, shuffle=False)
    torch_optimizer = torch.optim.Adam([W1, b1, W2, b2], lr=0.01)
    for row in range(30):
        x = torch.tensor(X[row : row + 1])
        logits = torch.relu(x @ W1 + b1) @ W2 + b2
        loss = torch.nn.functional.cross_entropy(logits, torch.tensor(labels[row : row + 1]))
        torch_optimizer.zero_grad()
        loss.backward()
        torch_optimizer.step()
    for name, tensor in zip(("W1", "b1", "W2", "b2"), (W1, b1, W2, b2), strict=True):
        assert_allclose(net.params[name], tensor.detach().numpy(), rtol=1e-9, atol=1e-12)


def test_partial_fit_continues_exactly_where_fit_stopped():
    rng = np.random.default_rng(4)
    X = rng.standard_normal((40, 5))
    T = rng.integers(0, 3, 40)
    one_call = MLP([5, 7, 3], seed=0, dtype="float64")
    one_call.fit(X, T, optimizer=optimizers.Adam(lr=0.01), epochs=3)
    in_steps = MLP([5, 7, 3], seed=0, dtype="float64")
    adam = optimizers.Adam(lr=0.01)
    for _ in range(3):
        in_steps.partial_fit(X, T, optimizer=adam)
    assert np.array_equal(one_call.theta, in_steps.theta)
    assert adam.step_[0] == 120


def test_state_dict_round_trip_resumes_identically():
    rng = np.random.default_rng(4)
    X = rng.standard_normal((40, 5))
    T = rng.integers(0, 3, 40)
    net = MLP([5, 7, 3], seed=0, dtype="float64")
    rms = optimizers.RMSProp(lr=0.01, momentum=0.5, centered=True)
    net.fit(X, T, optimizer=rms, epochs=1)
    saved_theta, saved = net.theta.copy(), rms.state_dict()
    net.fit(X, T, optimizer=rms, epochs=1, shuffle=False)
    continued = net.theta.copy()

    restored = optimizers.RMSProp(lr=0.5)  # hyper-parameters come from the dict
    restored.load_state_dict(saved)
    assert restored.get_params() == rms.get_params()
    net.theta[...] = saved_theta
    net.fit(X, T, optimizer=restored, epochs=1, shuffle=False)
    assert np.array_equal(net.theta, continued)
    with pytest.raises(ValueError, match="made by optimizer 'rmsprop', cannot load into 'adam'"):
        optimizers.Adam().load_state_dict(saved)


@pytest.mark.parametrize(
    "name", ["SGD", "momentum", "NESTEROV", "AdaGrad", "rmsprop", "Adadelta", "adam", "AdamW"]
)
def test_get_by_name_case_insensitively(name):
    optimizer = optimizers.get(name, lr=0.5)
    assert optimizer.name == name.lower() and optimizer.lr == 0.5


@pytest.mark.parametrize(
    "make, match",
    [
        (lambda: optimizers.SGD(lr=0), "lr must be > 0.0, got 0"),
        (lambda: optimizers.Adam(lr=-1e-3), "lr must be > 0.0"),
        (lambda: optimizers.Adam(betas=(1.0, 0.999)), r"betas\[0\] must be < 1.0, got 1.0"),
        (lambda: optimizers.Adam(betas=(0.9, -0.1)), r"betas\[1\] must be >= 0.0"),
        (lambda: optimizers.AdamW(betas=0.9), "betas must be a pair"),
        (lambda: optimizers.Adam(eps=-1e-8), "eps must be >= 0.0"),
        (lambda: optimizers.RMSProp(eps=-1), "eps must be >= 0.0"),
        (lambda: optimizers.SGD(lr=0.1, momentum=-0.5), "momentum must be >= 0.0, got -0.5"),
        (lambda: optimizers.RMSProp(momentum=-0.1), "momentum must be >= 0.0"),
        (lambda: optimizers.SGD(lr=0.1, nesterov=True), "nesterov=True needs momentum > 0"),
        (
            lambda: optimizers.SGD(lr=0.1, momentum=0.9, dampening=0.1, nesterov=True),
            "dampening == 0",
        ),
        (lambda: optimizers.Momentum(momentum=0), "momentum must be > 0"),
        (lambda: optimizers.AdaGrad(lr_decay=-1), "lr_decay must be >= 0.0"),
        (lambda: optimizers.Adadelta(rho=1.5), r"rho must be in \[0, 1\]"),
        (lambda: optimizers.RMSProp(alpha=2), r"alpha must be in \[0, 1\]"),
        (lambda: optimizers.Adam(weight_decay=-0.1), "weight_decay must be >= 0.0"),
        (lambda: optimizers.SGD(lr=float("nan")), "lr must be finite"),
        (lambda: optimizers.SGD(lr="fast"), "lr must be a real number"),
        (lambda: optimizers.get("adam", learning_rate=0.1), "learning_rate"),
    ],
)
def test_invalid_hyper_parameters(make, match):
    with pytest.raises((ValueError, TypeError), match=match):
        make()


def test_compare_optimizers_trains_one_network_with_each():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((120, 4))
    T = (X[:, 0] + X[:, 1] > 0).astype(int)
    histories = compare_optimizers(
        X,
        T,
        [4, 16, 2],
        {
            "SGD": optimizers.SGD(lr=0.05),
            "Momentum": optimizers.Momentum(lr=0.01),
            "Adam": optimizers.Adam(lr=0.01),
        },
        epochs=5,
        seed=3,
        validation_data=(X[:40], T[:40]),
    )
    assert list(histories) == ["SGD", "Momentum", "Adam"]
    for history in histories.values():
        assert len(history.loss) == 5 and len(history.val_acc) == 5
        assert history.loss[-1] < history.loss[0]
    # Same seed, same start: the first per-sample loss is the same for every optimizer.
    firsts = {h.step_loss[0] for h in histories.values()}
    assert len(firsts) == 1
    assert histories["SGD"].loss != histories["Adam"].loss


# --- bind: the one check between an optimizer's public attributes and the kernels ---

BAD_STATES = {
    "too few rows": (lambda n: np.zeros((1, n), np.float32), ValueError, r"shape \(3, \d+\)"),
    "other network": (lambda n: np.zeros((3, n + 1)), ValueError, "made for a network with"),
    "1-D": (lambda n: np.zeros(3 * n), ValueError, r"got \(\d+,\)"),
    "list": (lambda n: [[0.0] * n] * 3, TypeError, "got list"),
    "integers": (lambda n: np.zeros((3, n), np.int64), TypeError, "dtype int64"),
    "NaN": (lambda n: np.full((3, n), np.nan), ValueError, "NaN or inf"),
    "inf": (lambda n: np.where(np.eye(3, n) > 0, np.inf, 0), ValueError, r"at row 0, column 0"),
}


@pytest.fixture
def small_net():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((8, 2))
    return MLP([2, 3, 2], seed=0), X, rng.integers(0, 2, 8)


@pytest.mark.parametrize("case", BAD_STATES)
def test_bind_refuses_state_the_kernels_cannot_take(case, small_net):
    net, _, _ = small_net
    make, error, match = BAD_STATES[case]
    adam = optimizers.Adam()
    adam.state_ = make(net.n_params)
    with pytest.raises(error, match=r"optimizer(\.state_|: its state)") as raised:
        adam.bind(net.n_params, net.dtype)
    assert raised.match(match) and raised.match(r"optimizer\.reset\(\)")


def test_fit_with_too_few_state_rows_is_an_error_not_a_crash(small_net):
    # The reproducer: a (1, n_params) state reached the kernels and
    # corrupted the heap (abort or SIGSEGV).
    net, X, y = small_net
    adam = optimizers.Adam()
    net.fit(X, y, optimizer=adam)
    theta = net.theta.copy()
    adam.state_ = np.zeros((1, net.n_params), np.float32)
    with pytest.raises(
        ValueError, match=rf"optimizer\.state_ must have shape \(3, {net.n_params}\)"
    ):
        net.fit(X, y, optimizer=adam)
    assert np.array_equal(net.theta, theta)


def test_bind_copies_a_valid_state_into_the_layout_the_kernels_need(small_net):
    net, X, y = small_net
    values = np.random.default_rng(1).random((3, net.n_params))
    for state in (
        np.asfortranarray(values.astype(np.float32)),  # not C-contiguous
        values,  # float64 for a float32 network
        np.lib.stride_tricks.as_strided(values.astype(np.float32)),  # read-only view
    ):
        state.flags.writeable = False
        adam = optimizers.Adam()
        adam.state_ = state
        bound = adam.bind(net.n_params, net.dtype)
        assert bound is adam.state_ and bound.dtype == np.float32
        assert bound.flags.c_contiguous and bound.flags.writeable
        assert np.array_equal(bound, values.astype(np.float32))
        net.fit(X, y, optimizer=adam)  # and the kernels take it


@pytest.mark.parametrize(
    "step, error, match",
    [
        (np.array([2**63 - 1]), ValueError, r"in \[0, 2\*\*53\), got 9223372036854775807"),
        (np.array([2**53]), ValueError, r"in \[0, 2\*\*53\)"),
        (np.array([-1]), ValueError, "got -1"),
        (5, TypeError, "shape \\(1,\\).*got 5"),
        (np.zeros(1), TypeError, r"got float64 \(1,\)"),
        (np.zeros(2, np.int64), TypeError, r"got int64 \(2,\)"),
    ],
)
def test_bind_refuses_a_step_count_the_kernels_cannot_take(step, error, match):
    adam = optimizers.Adam()
    adam.step_ = step
    with pytest.raises(error, match=r"optimizer\.step_") as raised:
        adam.bind(4, np.float64)
    assert raised.match(match) and raised.match(r"optimizer\.reset\(\)")


def test_a_step_near_2_63_is_refused_before_adam_raises_beta_to_it(small_net):
    net, X, y = small_net
    adam = optimizers.Adam()
    net.fit(X, y, optimizer=adam)
    adam.step_[0] = 2**63 - 1
    with pytest.raises(ValueError, match=r"optimizer\.step_ must count steps"):
        net.fit(X, y, optimizer=adam)
    adam.step_ = np.array([7], dtype=np.int32)  # another integer type is converted
    adam.bind(net.n_params, net.dtype)
    assert adam.step_.dtype == np.int64 and adam.step_[0] == 7


@pytest.mark.parametrize(
    "make, attribute, value, error, match",
    [
        (optimizers.Adam, "lr", -1, ValueError, r"optimizer\.lr must be > 0.0, got -1"),
        (optimizers.SGD, "lr", float("nan"), ValueError, r"optimizer\.lr must be finite"),
        (optimizers.Adam, "betas", 5, TypeError, r"optimizer\.betas must be a pair"),
        (optimizers.RMSProp, "alpha", 2.0, ValueError, r"optimizer\.alpha must be in \[0, 1\]"),
        (optimizers.Momentum, "weight_decay", 0.1, ValueError, "Momentum fixes it at 0.0"),
        (optimizers.Nesterov, "dampening", 0.5, ValueError, "Nesterov fixes it at 0.0"),
    ],
)
def test_bind_rechecks_hyper_parameters_set_after_construction(
    make, attribute, value, error, match
):
    optimizer = make()
    setattr(optimizer, attribute, value)
    with pytest.raises(error, match=match):
        optimizer.bind(4, np.float64)


@pytest.mark.parametrize(
    "optimizer, match",
    [
        (optimizers.SGD(lr=1e39), "rounded to float32, lr must be finite, got inf"),
        (optimizers.SGD(lr=1e-50), r"rounded to float32, lr must be > 0.0, got 0.0"),
        (optimizers.Adam(weight_decay=1e39), "rounded to float32, weight_decay must be finite"),
        (optimizers.Adam(betas=(0.999999999, 0.9)), r"rounded to float32, betas\[0\] must be < 1"),
    ],
)
def test_hyper_parameters_must_be_finite_in_the_network_dtype(optimizer, match):
    with pytest.raises(ValueError, match=match):
        optimizer.hyper_vector(np.float32)
    with pytest.raises(ValueError, match="cannot train a float32 network"):
        optimizer.bind(4, np.float32)
    assert np.all(np.isfinite(optimizer.hyper_vector(np.float64)))  # fine in float64


@pytest.mark.parametrize(
    "change, error, match",
    [
        ({"step": 2**63 - 1}, ValueError, r"state_dict\['step'\] must count steps"),
        ({"step": 2.5}, TypeError, "step must be an integer, got 2.5"),
        ({"state": np.full((3, 4), np.inf)}, ValueError, r"state_dict\['state'\] contains NaN"),
    ],
)
def test_load_state_dict_refuses_what_bind_would(change, error, match):
    saved = {"name": "adam", "params": optimizers.Adam().get_params(), "step": 3}
    saved["state"] = np.zeros((3, 4))
    saved.update(change)
    with pytest.raises(error, match=match):
        optimizers.Adam().load_state_dict(saved)
