"""The multilayer perceptron: a flat parameter vector and a thin layer over the kernels."""

import numbers
from dataclasses import dataclass, field

import numpy as np

import kernels
import kernels.reference
from fastnn import optimizers as optimizers_module
from fastnn._checks import as_matrix, check_dtype, check_int
from kernels import codes

__all__ = ["MLP", "History", "TrainingDivergedError"]

BACKENDS = {"numba": kernels, "numpy": kernels.reference}

# Rows per chunk in predict/loss/accuracy, so work buffers stay small on big data.
PREDICT_CHUNK = 4096


class TrainingDivergedError(FloatingPointError):
    """Training produced a non-finite loss; the network keeps its last finite weights."""


@dataclass
class History:
    """What ``fit`` measured, one value per epoch.

    Attributes
    ----------
    loss : list of float
        Mean training loss over the epoch's steps, each taken before its update
        (the running average Keras reports).
    val_loss : list of float
        Loss on ``validation_data`` after each epoch (empty without it).
    train_acc : list of float
        Fraction of training samples classified correctly during the epoch
        (classifiers only).
    val_acc : list of float
        Accuracy on ``validation_data`` after each epoch (classifiers only).
    step_losses : list of ndarray
        One array per epoch with the loss of every step (per sample or per
        batch); :attr:`step_loss` joins them.
    """

    loss: list = field(default_factory=list)
    val_loss: list = field(default_factory=list)
    train_acc: list = field(default_factory=list)
    val_acc: list = field(default_factory=list)
    step_losses: list = field(default_factory=list)

    @property
    def step_loss(self):
        """ndarray: the loss of every step of every epoch, in order (per-step charts)."""
        if not self.step_losses:
            return np.zeros(0)
        return np.concatenate(self.step_losses)


class _Workspace:
    """Work buffers for one batch size, allocated once per fit."""

    def __init__(self, net, batch):
        dtype = net.dtype
        units = int(net.layout[:, codes.FAN_OUT].sum())
        self.grad = np.zeros(net.n_params, dtype=dtype)
        self.acts = np.zeros(batch * units, dtype=dtype)
        self.deltas = np.zeros(batch * units, dtype=dtype)
        self.x = np.zeros((batch, net.sizes[0]), dtype=dtype)
        self.t = np.zeros((batch, net.sizes[-1]), dtype=dtype)
        self.y = np.zeros((batch, net.sizes[-1]), dtype=dtype)


class MLP:
    """A multilayer perceptron whose parameters live in one flat vector.

    Parameters
    ----------
    sizes : sequence of int
        Units per layer, inputs first: ``[784, 40, 10]``.
    hidden : str or sequence of str, default "relu"
        Hidden activation, one name or one per hidden layer: "relu", "sigmoid",
        "tanh", "step", "identity", "leaky_relu".
    output : {"softmax", "sigmoid", "identity"}, default "softmax"
        Output activation; it fixes the loss: cross-entropy, binary
        cross-entropy, mean squared error.
    init : "he", "xavier" or float, default "he"
        Weight initialisation: std ``sqrt(2/fan_in)``, ``sqrt(1/fan_in)``, or
        the given std (the course's ``weight_init_std``). Biases start at 0.
    dtype : {"float32", "float64"}, default "float32"
    seed : int or None
        Seeds initialisation and shuffling: same seed, same data, same weights.
    backend : {"numba", "numpy"}, default "numba"
        "numpy" runs the plain NumPy reference (:mod:`kernels.reference`).
    """

    def __init__(
        self,
        sizes,
        hidden="relu",
        output="softmax",
        init="he",
        dtype="float32",
        seed=None,
        backend="numba",
    ):
        self.sizes = self._check_sizes(sizes)
        n_layers = len(self.sizes) - 1
        self.hidden = self._check_hidden(hidden, n_layers - 1)
        if output not in codes.OUTPUT_CODES:
            raise ValueError(f"output must be one of {sorted(codes.OUTPUT_CODES)}, got {output!r}")
        if output == "softmax" and self.sizes[-1] < 2:
            raise ValueError(
                f"output='softmax' needs at least 2 output units, got sizes={self.sizes}; "
                "use output='sigmoid' for one binary output"
            )
        self.output = output
        self.loss_code = codes.OUTPUT_CODES[output]
        self.init = self._check_init(init)
        self.dtype = check_dtype(dtype)
        if backend not in BACKENDS:
            raise ValueError(f"backend must be 'numba' or 'numpy', got {backend!r}")
        self.backend = backend
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, numbers.Integral)):
            raise TypeError(f"seed must be an integer or None, got {seed!r}")
        self.seed = seed
        self.rng = np.random.default_rng(seed)
        self.layout = self._make_layout()
        self.n_params = int(self.layout[-1, codes.B_OFFSET] + self.sizes[-1])
        self._theta = np.zeros(self.n_params, dtype=self.dtype)
        self.params = self._make_views(self._theta)
        self._initialise()
        self.optimizer_ = None

    # ------------------------------------------------------------ construction

    @staticmethod
    def _check_sizes(sizes):
        try:
            sizes = list(sizes)
        except TypeError:
            raise TypeError(f"sizes must be a sequence of layer widths, got {sizes!r}") from None
        if len(sizes) < 2:
            raise ValueError(f"sizes needs at least 2 entries (inputs, outputs), got {sizes!r}")
        for position, size in enumerate(sizes):
            if isinstance(size, bool) or not isinstance(size, numbers.Integral):
                raise TypeError(f"sizes[{position}] must be an integer, got {size!r}")
            if size < 1:
                raise ValueError(f"sizes[{position}] must be >= 1, got {size!r}")
        return [int(size) for size in sizes]

    @staticmethod
    def _check_hidden(hidden, n_hidden):
        names = [hidden] * n_hidden if isinstance(hidden, str) else list(hidden)
        if len(names) != n_hidden:
            raise ValueError(
                f"hidden has {len(names)} names, the network has {n_hidden} hidden layers"
            )
        for name in names:
            if name not in codes.ACTIVATION_CODES:
                raise ValueError(
                    f"hidden: unknown activation {name!r}; choose one of "
                    f"{sorted(codes.ACTIVATION_CODES)}"
                )
        return names

    @staticmethod
    def _check_init(init):
        if isinstance(init, str):
            if init not in ("he", "xavier"):
                raise ValueError(f"init must be 'he', 'xavier' or a float std, got {init!r}")
            return init
        if isinstance(init, bool) or not isinstance(init, numbers.Real):
            raise TypeError(f"init must be 'he', 'xavier' or a float std, got {init!r}")
        if not np.isfinite(init) or init <= 0:
            raise ValueError(f"init as a std must be a positive finite number, got {init!r}")
        return float(init)

    def _make_layout(self):
        rows = []
        offset = 0
        unit_offset = 0
        widths = zip(self.sizes[:-1], self.sizes[1:], strict=True)
        for layer, (fan_in, fan_out) in enumerate(widths):
            is_hidden = layer < len(self.hidden)
            activation = codes.ACTIVATION_CODES[self.hidden[layer]] if is_hidden else 0
            rows.append(
                [fan_in, fan_out, offset, offset + fan_in * fan_out, activation, unit_offset]
            )
            offset += fan_in * fan_out + fan_out
            unit_offset += fan_out
        return np.array(rows, dtype=np.int64)

    def _make_views(self, vector):
        views = {}
        for layer, row in enumerate(self.layout, start=1):
            fan_in, fan_out, w_start, b_start = (int(v) for v in row[:4])
            views[f"W{layer}"] = vector[w_start : w_start + fan_in * fan_out].reshape(
                fan_in, fan_out
            )
            views[f"b{layer}"] = vector[b_start : b_start + fan_out]
        return views

    def _initialise(self):
        for layer, row in enumerate(self.layout, start=1):
            fan_in, fan_out = int(row[0]), int(row[1])
            if self.init == "he":
                std = np.sqrt(2.0 / fan_in)
            elif self.init == "xavier":
                std = np.sqrt(1.0 / fan_in)
            else:
                std = self.init
            self.params[f"W{layer}"][...] = std * self.rng.standard_normal((fan_in, fan_out))

    # ------------------------------------------------------------ properties

    @property
    def theta(self):
        """ndarray: all parameters, one flat vector; ``params`` holds views into it."""
        return self._theta

    @property
    def _kernels(self):
        return BACKENDS[self.backend]

    @property
    def is_classifier(self):
        """bool: True for softmax and sigmoid outputs."""
        return self.loss_code != codes.MSE

    def __repr__(self):
        return (
            f"MLP({self.sizes}, hidden={self.hidden!r}, output={self.output!r}, "
            f"dtype={self.dtype.name!r}, backend={self.backend!r})"
        )

    # ------------------------------------------------------------ data

    def _inputs(self, X, name="X"):
        return as_matrix(name, X, self.sizes[0], self.dtype)

    def _targets(self, T, n_rows, name="T"):
        n_out = self.sizes[-1]
        array = np.asarray(T)
        if self.loss_code == codes.SOFTMAX_CE and array.ndim == 1:
            if array.dtype.kind not in "biuf":
                raise TypeError(
                    f"{name} must hold class labels or one-hot rows, got dtype {array.dtype}"
                )
            if not np.all(np.isfinite(array)) or np.any(array != np.round(array)):
                raise ValueError(f"{name}: 1-D class labels must be whole numbers")
            if array.size and (array.min() < 0 or array.max() >= n_out):
                raise ValueError(
                    f"{name}: class labels must be in [0, {n_out - 1}] for {n_out} outputs, "
                    f"got values from {array.min()} to {array.max()}"
                )
            one_hot = np.zeros((array.shape[0], n_out), dtype=self.dtype)
            one_hot[np.arange(array.shape[0]), array.astype(np.int64)] = 1
            array = one_hot
        array = as_matrix(name, array, n_out, self.dtype)
        if array.shape[0] != n_rows:
            raise ValueError(f"{name} has {array.shape[0]} rows, X has {n_rows}: they must match")
        if self.loss_code == codes.SIGMOID_BCE and (array.min() < 0 or array.max() > 1):
            raise ValueError(f"{name}: targets for a sigmoid output must lie in [0, 1]")
        return array

    # ------------------------------------------------------------ inference

    def _forward_chunks(self, X):
        """Yield ``(rows, logits_block, outputs)`` chunk by chunk."""
        k = self._kernels
        units = int(self.layout[:, codes.FAN_OUT].sum())
        chunk = min(PREDICT_CHUNK, X.shape[0])
        acts = np.zeros(chunk * units, dtype=self.dtype)
        for start in range(0, X.shape[0], chunk):
            x = X[start : start + chunk]
            y = np.empty((x.shape[0], self.sizes[-1]), dtype=self.dtype)
            k.predict(self._theta, self.layout, self.loss_code, x, acts, y)
            logits = k.layer_block(acts, self.layout, len(self.layout) - 1, x.shape[0])
            yield slice(start, start + x.shape[0]), logits, y

    def predict(self, X):
        """Return the output activations for the rows of ``X``.

        Parameters
        ----------
        X : array-like, shape (n_samples, inputs) or (inputs,)

        Returns
        -------
        ndarray, shape (n_samples, outputs), or (outputs,) for a 1-D sample
        """
        single = np.ndim(X) == 1 and self.sizes[0] > 1
        X = self._inputs(X)
        out = np.empty((X.shape[0], self.sizes[-1]), dtype=self.dtype)
        for rows, _, y in self._forward_chunks(X):
            out[rows] = y
        return out[0] if single else out

    def _loss_and_correct(self, X, T):
        total = 0.0
        correct = 0.0
        k = self._kernels
        for rows, logits, y in self._forward_chunks(X):
            t = T[rows]
            total += k.loss_value(self.loss_code, logits, t) * (rows.stop - rows.start)
            correct += k.count_correct(self.loss_code, y, t)
        return total / X.shape[0], correct / X.shape[0]

    def loss(self, X, T):
        """Return the mean loss over the rows of ``(X, T)`` (DESIGN.md §4).

        ``T`` may be one-hot rows or integer labels for a softmax output.
        """
        X = self._inputs(X)
        return self._loss_and_correct(X, self._targets(T, X.shape[0]))[0]

    def accuracy(self, X, T):
        """Return the fraction of rows classified correctly (classifiers only)."""
        if not self.is_classifier:
            raise ValueError("accuracy needs a classifier (output 'softmax' or 'sigmoid')")
        X = self._inputs(X)
        return self._loss_and_correct(X, self._targets(T, X.shape[0]))[1]

    # ------------------------------------------------------------ gradients

    def gradient(self, X, T):
        """Return the gradient of :meth:`loss` by backpropagation, shaped like ``params``."""
        X = self._inputs(X)
        T = self._targets(T, X.shape[0])
        work = _Workspace(self, X.shape[0])
        self._kernels.gradient(
            self._theta,
            self.layout,
            self.loss_code,
            X,
            T,
            work.acts,
            work.deltas,
            work.y[: X.shape[0]],
            work.grad,
        )
        return self._make_views(work.grad)

    def numerical_gradient(self, X, T, h=1e-4):
        """Return the gradient of :meth:`loss` by central differences, like ``params``.

        Slow by design (two losses per parameter): it checks :meth:`gradient`.
        """
        X = self._inputs(X)
        T = self._targets(T, X.shape[0])
        grad = np.zeros(self.n_params, dtype=self.dtype)
        theta = self._theta
        for index in range(self.n_params):
            saved = theta[index]
            theta[index] = saved + h
            loss_plus = self._loss_and_correct(X, T)[0]
            theta[index] = saved - h
            loss_minus = self._loss_and_correct(X, T)[0]
            theta[index] = saved
            grad[index] = (loss_plus - loss_minus) / (2 * h)
        return self._make_views(grad)

    # ------------------------------------------------------------ training

    def fit(
        self,
        X,
        T,
        optimizer=None,
        epochs=1,
        batch_size=1,
        shuffle=True,
        validation_data=None,
        progress=False,
    ):
        """Train from the current weights and return the per-epoch :class:`History`.

        Parameters
        ----------
        X : array-like, shape (n_samples, inputs)
        T : array-like, shape (n_samples, outputs), or (n_samples,) labels/targets
        optimizer : Optimizer or str, optional
            Default: the optimizer of the previous fit, else ``SGD(lr=0.01)``. Its
            state carries over between calls.
        epochs : int, default 1
        batch_size : int or None, default 1
            1 is per-sample SGD; None (or >= n_samples) is full-batch descent.
        shuffle : bool, default True
            Visit the samples in a new seeded random order each epoch.
        validation_data : tuple (X_val, T_val), optional
        progress : bool, default False
            Show a progress bar per epoch (samples/s and running loss) on stderr.

        Returns
        -------
        History

        Raises
        ------
        TrainingDivergedError
            When the loss becomes NaN or inf; the weights and optimizer state are
            those at the end of the last complete epoch.
        """
        epochs = check_int("epochs", epochs, minimum=1)
        X = self._inputs(X)
        T = self._targets(T, X.shape[0])
        n_rows = X.shape[0]
        if batch_size is None:
            batch_size = n_rows
        batch_size = min(check_int("batch_size", batch_size, minimum=1), n_rows)
        validation = None
        if validation_data is not None:
            if not isinstance(validation_data, (tuple, list)) or len(validation_data) != 2:
                raise TypeError("validation_data must be a tuple (X_val, T_val)")
            X_val = self._inputs(validation_data[0], "validation_data[0]")
            validation = (
                X_val,
                self._targets(validation_data[1], X_val.shape[0], "validation_data[1]"),
            )
        if optimizer is None:
            optimizer = (
                self.optimizer_ if self.optimizer_ is not None else (optimizers_module.SGD(lr=0.01))
            )
        optimizer = optimizers_module.get(optimizer)
        optimizer.bind(self.n_params, self.dtype)
        self.optimizer_ = optimizer

        history = History()
        identity = np.arange(n_rows)
        order = identity.copy()
        run = _EpochRunner(self, X, T, batch_size, optimizer)
        for epoch in range(1, epochs + 1):
            if shuffle:
                # Each epoch shuffles 0..n-1 (as rng.permutation(n) would), so that
                # fit(epochs=k) and k calls of partial_fit see the same orders; in
                # place, because a fresh array per epoch costs page faults worth
                # a sizeable part of a small network's per-sample epoch.
                order[...] = identity
                self.rng.shuffle(order)
            bar = _progress_bar(n_rows, epoch, epochs) if progress else None
            try:
                step_losses, correct = run.epoch(order, epoch, bar)
            finally:
                if bar is not None:
                    bar.close()
            history.step_losses.append(step_losses)
            history.loss.append(run.mean_loss(step_losses))
            if self.is_classifier:
                history.train_acc.append(correct / n_rows)
            if validation is not None:
                val_loss, val_acc = self._loss_and_correct(*validation)
                history.val_loss.append(val_loss)
                if self.is_classifier:
                    history.val_acc.append(val_acc)
        return history

    def partial_fit(self, X, T, optimizer=None, batch_size=1, shuffle=True):
        """Train one epoch, keeping the optimizer's state; return ``self``.

        Parameters are as in :meth:`fit`.
        """
        self.fit(X, T, optimizer=optimizer, epochs=1, batch_size=batch_size, shuffle=shuffle)
        return self

    # ------------------------------------------------------------ persistence

    def __getstate__(self):
        # The views in `params` would pickle as copies; they are rebuilt instead.
        state = self.__dict__.copy()
        del state["params"]
        return state

    def __setstate__(self, state):
        self.__dict__.update(state)
        self.params = self._make_views(self._theta)

    def save(self, path):
        """Write the network to one ``.npz`` file, atomically.

        The file holds the format version, the architecture (sizes, activations,
        output, init, dtype), ``theta``, the shuffling generator's state and the
        optimizer (name, hyper-parameters, step count, state vectors), as plain
        arrays: loading never unpickles anything. The file is written under a
        temporary name and renamed, so a failed save leaves any old file intact.

        Parameters
        ----------
        path : str or path-like
        """
        from fastnn.persistence import save_model

        save_model(self, path)

    @classmethod
    def load(cls, path):
        """Read a network written by :meth:`save`; predictions are identical.

        Raises
        ------
        ValueError
            If the file is not a fastnn model, is truncated or corrupt, or its
            contents do not fit together.
        """
        from fastnn.persistence import load_model

        return load_model(cls, path)


def _progress_bar(n_rows, epoch, epochs):
    from tqdm.auto import tqdm

    return tqdm(
        total=n_rows,
        desc=f"epoch {epoch}/{epochs}",
        unit="sample",
        unit_scale=True,
        leave=True,
        dynamic_ncols=True,
    )


class _EpochRunner:
    """Runs epochs through the kernels with buffers allocated once per fit."""

    # With a progress bar an epoch runs in about this many kernel calls.
    PROGRESS_UPDATES = 50

    def __init__(self, net, X, T, batch_size, optimizer):
        self.net, self.X, self.T = net, X, T
        self.batch_size = batch_size
        self.optimizer = optimizer
        self.state = optimizer.state_
        self.hyper = optimizer.hyper_vector(net.dtype)
        self.work = _Workspace(net, batch_size)
        n_rows = X.shape[0]
        self.n_steps = n_rows if batch_size == 1 else -(-n_rows // batch_size)
        self.correct = np.zeros(self.n_steps)

    def _run(self, order, step_losses, correct):
        net, work, opt = self.net, self.work, self.optimizer
        k = net._kernels
        if self.batch_size == 1:
            return k.train_epoch_sample(
                net._theta,
                net.layout,
                net.loss_code,
                self.X,
                self.T,
                order,
                opt.code,
                self.state,
                self.hyper,
                opt.step_,
                work.grad,
                work.acts,
                work.deltas,
                work.y,
                step_losses,
                correct,
            )
        return k.train_epoch_batch(
            net._theta,
            net.layout,
            net.loss_code,
            self.X,
            self.T,
            order,
            self.batch_size,
            opt.code,
            self.state,
            self.hyper,
            opt.step_,
            work.grad,
            work.x,
            work.t,
            work.acts,
            work.deltas,
            work.y,
            step_losses,
            correct,
        )

    def epoch(self, order, epoch, bar):
        """Train one epoch in ``order``; return (per-step losses, correct count)."""
        net, opt = self.net, self.optimizer
        saved = (net._theta.copy(), self.state.copy(), opt.step_.copy())
        step_losses = np.zeros(self.n_steps)
        self.correct[:] = 0
        if bar is None:
            done = self._run(order, step_losses, self.correct)
        else:
            # Several kernel calls over consecutive slices of the order train
            # exactly as one call does; between them the bar moves.
            chunk = max(1, -(-self.n_steps // self.PROGRESS_UPDATES))
            done = 0
            while done < self.n_steps:
                stop = min(done + chunk, self.n_steps)
                rows = order[done * self.batch_size : stop * self.batch_size]
                ran = self._run(rows, step_losses[done:stop], self.correct[done:stop])
                done += ran
                bar.update(min(len(rows), ran * self.batch_size))
                bar.set_postfix(loss=f"{self.mean_loss(step_losses[:done]):.4g}")
                if done < stop:  # the loss became non-finite inside this slice
                    break
        if done < self.n_steps:
            net._theta[...] = saved[0]
            self.state[...] = saved[1]
            opt.step_[...] = saved[2]
            raise TrainingDivergedError(
                f"the training loss became {step_losses[done]} at epoch {epoch}, step "
                f"{done + 1}; the weights are those at the end of epoch {epoch - 1}. "
                f"Try a smaller learning rate than lr={opt.lr}."
            )
        return step_losses, float(self.correct.sum())

    def mean_loss(self, step_losses):
        """Mean loss per sample over the first ``len(step_losses)`` steps."""
        if len(step_losses) == 0:
            return float("nan")
        if self.batch_size == 1:
            return float(step_losses.mean())
        sizes = np.full(len(step_losses), self.batch_size, dtype=np.float64)
        if len(step_losses) == self.n_steps:
            sizes[-1] = self.X.shape[0] - self.batch_size * (self.n_steps - 1)
        return float(np.dot(step_losses, sizes) / sizes.sum())
