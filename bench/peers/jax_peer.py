"""The JAX peer of fastnn's training loops.

The loop is the best idiomatic JAX we know for training one small network on
a CPU: one ``jax.jit`` of a ``lax.scan`` over the whole epoch, the update
inside the scan's body (gradient by ``jax.value_and_grad``, step by
``optax``), the parameters and optimizer state passed as donated buffers, and
the scan's ``unroll`` a tuned constant. Both ``bench/bench_suite.py`` (through
:func:`trainer`) and ``bench/bench_peers.py`` train through :class:`JaxTrainer`,
so the two measure the same code.

The network, loss and optimizer are fastnn's (kernels/losses.py,
kernels/optimizers.py): ReLU hidden layers, ``W`` of shape (fan_in,
fan_out) so ``u = x @ W + b``, mean squared error
``0.5 * sum((y - t)**2) / batch`` or cross-entropy from the logits with
log-sum-exp over the batch mean, plain SGD or Adam with torch's formulas and
defaults. ``optax.adam`` computes ``lr * m̂ / (sqrt(v̂) + eps)`` with
``m̂ = m / (1 - β₁ᵗ)`` and ``v̂ = v / (1 - β₂ᵗ)``: exactly torch's
``lr / (1 - β₁ᵗ) * m / (sqrt(v) / sqrt(1 - β₂ᵗ) + eps)`` (eps outside the
square root, ``eps_root=0``), rounded in a different order; the benchmarks
check that the weights agree with fastnn's after 1,000 steps.

Importable without JAX: JAX loads in :func:`load_jax`.
"""

import os
import time

import numpy as np

__all__ = ["load_jax", "JaxTrainer", "default_unroll", "trainer", "XLA_FLAGS_ONE_THREAD"]

# The XLA options that ask for one CPU thread. In jaxlib 0.10 they no longer
# size the CPU client's thread pool (a 2000 x 2000 matmul still ran on two
# threads here), so load_jax also creates the client under a one-CPU affinity
# mask: the pool is sized from the mask when the client starts.
XLA_FLAGS_ONE_THREAD = "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1"

_LOADED = {}


def load_jax(threads=1, x64=False):
    """Import JAX limited to ``threads`` CPU threads; return ``(jax, how)``.

    Parameters
    ----------
    threads : int, default 1
        Threads of XLA's CPU thread pool. Only honoured when this call is the
        first to import JAX in the process: the pool is made once.
    x64 : bool, default False
        Enable float64 arrays (``jax_enable_x64``); float32 code stays float32.

    Returns
    -------
    jax : module
    how : str
        How the threads were limited, for the benchmark reports.

    Raises
    ------
    ImportError
        When JAX (or optax) is not installed.
    """
    import sys

    if "jax" in _LOADED:
        jax = _LOADED["jax"]
        how = _LOADED["how"]
    else:
        already = "jax" in sys.modules
        if threads == 1:
            flags = os.environ.get("XLA_FLAGS", "")
            if XLA_FLAGS_ONE_THREAD not in flags:
                os.environ["XLA_FLAGS"] = (flags + " " + XLA_FLAGS_ONE_THREAD).strip()
        restore = _narrow_affinity(threads) if not already else None
        try:
            import jax
            import optax  # noqa: F401  (an ImportError here means: no JAX peer)

            jax.config.update("jax_platforms", "cpu")
            jax.devices()  # creates the CPU client, and its thread pool, now
        finally:
            if restore is not None:
                restore()
        if already:
            how = "JAX was imported before the benchmark: its thread pool is as it was made"
        elif restore is None:
            how = f"XLA_FLAGS={os.environ.get('XLA_FLAGS', '')!r} (no affinity control here)"
        else:
            how = (
                f"XLA_FLAGS={os.environ.get('XLA_FLAGS', '')!r}, and the CPU client created "
                f"under a {threads}-CPU affinity mask (restored afterwards) so that its thread "
                f"pool has {threads} thread{'s' if threads > 1 else ''}"
            )
        _LOADED.update(jax=jax, how=how)
    if x64 and not jax.config.jax_enable_x64:
        jax.config.update("jax_enable_x64", True)
    return jax, how


def _narrow_affinity(threads):
    """Restrict this process to ``threads`` CPUs; return a function that undoes it.

    Returns None where the platform has no affinity control (macOS, Windows).
    """
    if not hasattr(os, "sched_setaffinity"):
        return None
    allowed = sorted(os.sched_getaffinity(0))
    if len(allowed) <= threads:
        return lambda: None
    os.sched_setaffinity(0, allowed[:threads])

    def restore():
        # Every thread made meanwhile inherited the narrow mask: widen them all,
        # so that no JAX thread stays pinned to one CPU.
        for task in os.listdir("/proc/self/task"):
            try:
                os.sched_setaffinity(int(task), allowed)
            except OSError:  # the thread has ended
                pass

    return restore


def default_unroll(sizes, batch):
    """The scan ``unroll`` used when none is given, from bench/bench_peers.py's tuning.

    Measured there (2-core AMD EPYC Zen 5, jaxlib 0.10.2, one thread, unroll
    1/2/4/8): the per-sample 2-10-1 network ran 2.0M, 3.0M, 3.6M, 2.6M
    samples/s, so tiny per-sample networks get 4 (less loop overhead per
    sample); 784-40-10 ran 306k, 227k, 229k, 226k (SGD) and 60k, 56k, 49k, 37k
    (Adam), and 784-256-128-10 at batch 100 within 5 % for 1, 2 and 4, so
    everything else gets 1, which also compiles fastest.
    """
    if batch == 1 and sizes[0] * sizes[1] <= 256:
        return 4
    return 1


class JaxTrainer:
    """One network trained by a jitted ``lax.scan`` epoch, from given weights.

    Parameters
    ----------
    params : dict of ndarray
        fastnn's ``net.params`` (``W1``, ``b1``, ...): copied, the network is left alone.
    output : {"softmax", "identity"}
        Softmax with cross-entropy, or identity with mean squared error.
    optimizer : {"sgd", "adam"}
        Plain SGD, or Adam with torch's defaults (betas 0.9/0.999, eps 1e-8).
    lr : float
    batch : int
        Rows per step; 1 is per-sample SGD.
    unroll : int, optional
        The scan's ``unroll``; default :func:`default_unroll`.
    """

    def __init__(self, params, output, optimizer, lr, batch=1, unroll=None):
        if output not in ("softmax", "identity"):
            raise ValueError(f"output must be 'softmax' or 'identity', got {output!r}")
        if optimizer not in ("sgd", "adam"):
            raise ValueError(f"optimizer must be 'sgd' or 'adam', got {optimizer!r}")
        jax, _ = load_jax()
        import jax.numpy as jnp
        import optax

        self._jax = jax
        n_layers = len(params) // 2
        self.dtype = np.asarray(params["W1"]).dtype
        if self.dtype == np.float64 and not jax.config.jax_enable_x64:
            raise ValueError("float64 weights need JAX's float64 mode: load_jax(x64=True) first")
        self.sizes = [params["W1"].shape[0]] + [
            params[f"W{k}"].shape[1] for k in range(1, n_layers + 1)
        ]
        self.output, self.optimizer_name, self.lr, self.batch = output, optimizer, lr, batch
        self.unroll = default_unroll(self.sizes, batch) if unroll is None else int(unroll)
        self._transform = optax.sgd(lr) if optimizer == "sgd" else optax.adam(lr)
        weights = tuple(
            (jnp.array(np.asarray(params[f"W{k}"])), jnp.array(np.asarray(params[f"b{k}"])))
            for k in range(1, n_layers + 1)
        )
        self._state = (weights, self._transform.init(weights))
        self._compiled = {}  # staged shape -> compiled epoch

        def loss_of(weights, x, t):
            a = x
            for W, b in weights[:-1]:
                a = jax.nn.relu(a @ W + b)
            W, b = weights[-1]
            z = a @ W + b
            if output == "softmax":
                return -jnp.sum(t * jax.nn.log_softmax(z)) / x.shape[0]
            return 0.5 * jnp.sum((z - t) ** 2) / x.shape[0]

        transform = self._transform
        value_and_grad = jax.value_and_grad(loss_of)

        def step(state, batch_rows):
            weights, opt_state = state
            loss, grads = value_and_grad(weights, *batch_rows)
            updates, opt_state = transform.update(grads, opt_state, weights)
            return (optax.apply_updates(weights, updates), opt_state), loss

        def epoch(state, X, T):
            # X: (steps, batch, inputs); T: (steps, batch, outputs)
            return jax.lax.scan(step, state, (X, T), unroll=self.unroll)

        self._epoch = jax.jit(epoch, donate_argnums=(0,))

    def stage(self, X, T):
        """Copy ``X``/``T`` to the device, shaped (steps, batch, columns); return them.

        ``T`` is one-hot for softmax, a column of targets for MSE. Staging is
        not part of training: the benchmarks stage once, outside the clock.
        """
        rows = X.shape[0]
        if rows % self.batch:
            raise ValueError(f"rows ({rows}) must be a multiple of batch ({self.batch})")
        shape = (rows // self.batch, self.batch)
        X = np.ascontiguousarray(X, dtype=self.dtype).reshape(*shape, -1)
        T = np.ascontiguousarray(T, dtype=self.dtype).reshape(*shape, -1)
        return self._jax.device_put(X), self._jax.device_put(T)

    def compile(self, staged):
        """Compile the epoch for the shape of ``staged``; return the seconds it took.

        A shape compiled before costs nothing (0.0 is returned).
        """
        shape = staged[0].shape
        if shape in self._compiled:
            return 0.0
        start = time.perf_counter()
        self._compiled[shape] = self._epoch.lower(self._state, *staged).compile()
        return time.perf_counter() - start

    def run(self, staged):
        """Train one epoch over ``staged`` rows in order; return the step losses.

        Compiles first if this shape is new; returns when the work is done.
        """
        self.compile(staged)
        self._state, losses = self._compiled[staged[0].shape](self._state, *staged)
        losses.block_until_ready()
        return losses

    def train(self, X, T):
        """Stage ``X``/``T`` and train one epoch over them (tests, one-off runs)."""
        return self.run(self.stage(X, T))

    def params(self):
        """The current weights as a dict of NumPy arrays (fastnn's names)."""
        weights = self._state[0]
        out = {}
        for k, (W, b) in enumerate(weights, start=1):
            out[f"W{k}"], out[f"b{k}"] = np.asarray(W), np.asarray(b)
        return out


def trainer(case, X, T):
    """``train(n)`` for the suite: JAX's epoch (:class:`JaxTrainer`) on the first n rows.

    ``train.prepare(n)`` copies the rows to the device and compiles the epoch for n
    rows; :func:`fastnn.selfbench.measure` calls it before each timed pass, so that no
    timed pass includes a compile (each row count is a new XLA program).
    """
    from peers import initial_params

    jax_trainer = JaxTrainer(initial_params(case), case.output, case.optimizer, case.lr, case.batch)
    if case.output == "softmax":
        targets = np.eye(case.sizes[-1], dtype=case.dtype)[np.asarray(T, dtype=np.int64)]
    else:
        targets = np.asarray(T, dtype=case.dtype).reshape(-1, 1)
    staged = {}

    def prepare(n):
        if n not in staged:
            staged.clear()  # one row count on the device at a time
            staged[n] = jax_trainer.stage(X[:n], targets[:n])
        jax_trainer.compile(staged[n])

    def train(n):
        prepare(n)
        jax_trainer.run(staged[n])

    train.prepare = prepare
    return train
