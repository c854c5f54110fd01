"""Per-sample epoch loops generated for one network layout.

:func:`fastnn.kernels.train.train_epoch_sample` handles any network, so it reads the
layer widths from the layout table at run time: every row of every layer is a
loop of unknown length, split by LLVM into vector blocks plus leftovers, and
the running sums of a layer live in memory (a load and a store per vector, each
input row waiting on the last row's store, because LLVM cannot prove that the
sums and ``theta`` do not overlap).

:func:`source` writes the same epoch as Python source for one layout, with the
widths as constants and the arithmetic in explicit SIMD vectors
(:mod:`fastnn.kernels._simd`): a layer's running sums are SSA vector values, so they
stay in registers while the weight rows stream past; rows and vectors have
fixed counts, with a masked last vector instead of remainder loops; zero inputs
(blank pixels, inactive ReLUs) are skipped by iterating the set bits of a
nonzero mask instead of branching on every value; plain SGD fuses the first
layer's update with the next sample's forward pass, so the largest matrix is
streamed once per sample; a stateful optimizer (Adam, ...) updates each row of
``theta`` and its state vectors in the same pass that computes the row's
gradient, with no gradient buffer; a network small enough (the course's 2-10-1)
keeps every weight in registers for the whole epoch.

The generated function has the signature of ``train_epoch_sample`` and ignores
the arguments its layout fixes (``layout``, ``loss_code``, ``opt_code``), so the
caller can use either. It does not do dropout (``dropout`` must be all zero:
networks with dropout train on the generic loop). It follows the same formulas
in the same order up to floating-point reassociation (sums of a different
length, FMAs): results agree with the generic loop and with
:mod:`fastnn.kernels.reference` to float tolerance.

The module is plain text, written by ``fastnn`` to a cache directory and
imported from there, so Numba's on-disk cache (``cache=True``) keeps the
compiled code between processes.
"""

from dataclasses import dataclass

from fastnn.kernels import codes
from fastnn.kernels.codes import (
    ADADELTA,
    ADAGRAD,
    ADAM,
    IDENTITY,
    LEAKY_RELU,
    LEAKY_RELU_SLOPE,
    MSE,
    RELU,
    RMSPROP,
    SGD,
    SIGMOID,
    STEP,
    TANH,
)
from fastnn.kernels.tuning import WIDE_INPUT

#: Bump when the generated code changes, so old cached modules are not reused.
GENERATOR_VERSION = 8

# Hidden ReLU/step inputs at least this wide have their zeros skipped through a
# nonzero bit mask, as inputs of kernels.tuning.WIDE_INPUT or more are.
SKIP_HIDDEN_MIN = 16
# Rows-form layers with at most this many inputs are unrolled in register mode.
UNROLL_MAX_INPUTS = 16
# Register mode prefetches the rows of the step this many steps ahead.
REGISTER_PREFETCH_STEPS = 16
# Whole vectors a tile's runs are joined into (see _Generator.merge), and the width in
# vectors of one step of the loops over a layer's values.
MERGE_VECTORS = 8
BLOCK_VECTORS = 4
# A pass needing more tiles of registers than this streams whole rows instead.
MAX_TILES = 2
# Hidden activations computed on whole vectors; the others go unit by unit through
# the generic loop's scalar code.
_VECTOR_ACTIVATIONS = (RELU, IDENTITY, LEAKY_RELU)

# Structural variants of the optimizers: what the code must do, not the values
# of the hyper-parameters (those stay run-time arguments).
OPTIMIZER_KINDS = (
    "sgd",
    "sgd_decay",
    "sgd_momentum",
    "sgd_nesterov",
    "adagrad",
    "rmsprop",
    "rmsprop_centered",
    "rmsprop_momentum",
    "rmsprop_centered_momentum",
    "adadelta",
    "adam",
    "adam_amsgrad",
)

# State rows each kind reads and writes.
STATE_ROWS_USED = {
    "sgd": 0,
    "sgd_decay": 0,
    "sgd_momentum": 1,
    "sgd_nesterov": 1,
    "adagrad": 1,
    "rmsprop": 1,
    "rmsprop_centered": 2,
    "rmsprop_momentum": 3,
    "rmsprop_centered_momentum": 3,
    "adadelta": 2,
    "adam": 2,
    "adam_amsgrad": 3,
}


def optimizer_kind(opt_code, hyper):
    """Return the structural variant of optimizer ``opt_code`` with ``hyper`` slots.

    Parameters
    ----------
    opt_code : int
        SGD, ADAGRAD, RMSPROP, ADADELTA or ADAM (:mod:`fastnn.kernels.codes`).
    hyper : sequence of float
        The hyper-parameter slots of :mod:`fastnn.kernels.optimizers`.

    Returns
    -------
    str
        One of :data:`OPTIMIZER_KINDS`.
    """
    if opt_code == SGD:
        if hyper[codes.SGD_MOMENTUM] == 0:
            return "sgd" if hyper[codes.WEIGHT_DECAY] == 0 else "sgd_decay"
        return "sgd_nesterov" if hyper[codes.SGD_NESTEROV] != 0 else "sgd_momentum"
    if opt_code == ADAGRAD:
        return "adagrad"
    if opt_code == RMSPROP:
        centered = "_centered" if hyper[codes.RMSPROP_CENTERED] != 0 else ""
        momentum = "_momentum" if hyper[codes.RMSPROP_MOMENTUM] > 0 else ""
        return f"rmsprop{centered}{momentum}"
    if opt_code == ADADELTA:
        return "adadelta"
    if opt_code == ADAM:
        return "adam_amsgrad" if hyper[codes.ADAM_AMSGRAD] != 0 else "adam"
    raise ValueError(f"unknown optimizer code {opt_code}")


@dataclass(frozen=True)
class Spec:
    """Everything the generated code depends on.

    Attributes
    ----------
    sizes : tuple of int
        Units per layer, inputs first.
    activations : tuple of int
        Activation code of each hidden layer.
    loss_code : int
    dtype : str
        "float32" or "float64".
    optimizer : str
        One of :data:`OPTIMIZER_KINDS`.
    lanes : int
        Vector width in elements (register bits / element bits).
    registers : int
        Vector registers of the target (16 for AVX2, 32 for AVX-512).
    flush_to_zero : bool
        Stateful optimizers run with the x86 flush-to-zero and
        denormals-are-zero modes on (x86 only).
    """

    sizes: tuple
    activations: tuple
    loss_code: int
    dtype: str
    optimizer: str
    lanes: int
    registers: int
    flush_to_zero: bool = False

    def key(self):
        """A short text naming the spec, for file names and messages."""
        widths = "-".join(str(size) for size in self.sizes)
        acts = "".join(str(code) for code in self.activations)
        return (
            f"v{GENERATOR_VERSION}_{widths}_a{acts}_l{self.loss_code}_{self.dtype}_"
            f"{self.optimizer}_x{self.lanes}r{self.registers}{'z' if self.flush_to_zero else ''}"
        )


def covers(sizes, activations, loss_code):
    """Return True if :func:`source` can generate a loop for this network.

    Any depth and width are covered; the limits only keep the generated code
    (and its compile time) reasonable.
    """
    return 2 <= len(sizes) <= 8 and all(1 <= size <= 4096 for size in sizes)


def pieces(width, lanes):
    """Cut ``width`` elements into vectors of exact widths: whole ``lanes``, then halves.

    ``pieces(40, 16)`` is ``[(0, 16), (16, 16), (32, 8)]`` and ``pieces(10, 16)``
    is ``[(0, 8), (8, 2)]``: every piece is a power of two, so no load or store
    needs a mask.
    """
    out = []
    start = 0
    size = lanes
    while start < width:
        while size > width - start:
            size //= 2
        out.append((start, size))
        start += size
    return out


def _plus(*terms):
    """An index expression: the sum of ``terms`` (ints and names), the ints folded."""
    constant = sum(term for term in terms if isinstance(term, int))
    names = [str(term) for term in terms if not isinstance(term, int)]
    if not names:
        return constant
    return " + ".join(names) + (f" + {constant}" if constant else "")


class _Layer:
    def __init__(self, index, fan_in, fan_out, w_offset, b_offset, unit, activation, lanes):
        self.index = index
        self.fan_in = fan_in
        self.fan_out = fan_out
        self.w = w_offset
        self.b = b_offset
        self.unit = unit  # where the layer's outputs start in `acts` and `deltas`
        self.activation = activation  # None for the output layer
        self.chunks = pieces(fan_out, lanes)
        self.in_chunks = pieces(fan_in, lanes)
        # One output unit: W is one contiguous column, used as a dot product.
        self.column = fan_out == 1


class _Writer:
    def __init__(self):
        self.lines = []
        self.depth = 0

    def __call__(self, text=""):
        self.lines.append("    " * self.depth + text if text else "")

    def indent(self):
        self.depth += 1

    def dedent(self):
        self.depth -= 1

    def text(self):
        return "\n".join(self.lines) + "\n"


def _layers(spec):
    layers = []
    offset = 0
    unit = 0
    n = len(spec.sizes) - 1
    for index in range(n):
        fan_in, fan_out = spec.sizes[index], spec.sizes[index + 1]
        activation = spec.activations[index] if index < n - 1 else None
        layers.append(
            _Layer(
                index,
                fan_in,
                fan_out,
                offset,
                offset + fan_in * fan_out,
                unit,
                activation,
                spec.lanes,
            )
        )
        offset += fan_in * fan_out + fan_out
        unit += fan_out
    return layers


def _vector_count(layer):
    # Vectors that hold a layer's parameters in register mode.
    if layer.column:
        return len(layer.in_chunks) + 1
    return (layer.fan_in + 1) * len(layer.chunks)


def register_mode(spec):
    """Return True when every weight (and optimizer state) fits in registers.

    Then the generated loop loads the weights once, trains the whole epoch in
    registers and stores them at the end (the course's 2-10-1 network: 5
    vectors). Hidden layers must have several units and few inputs (their rows
    are unrolled).
    """
    layers = _layers(spec)
    copies = 1 + STATE_ROWS_USED[spec.optimizer]
    total = sum(_vector_count(layer) for layer in layers) * copies
    hidden_rows = all(not layer.column for layer in layers[:-1])
    small = all(layer.column or layer.fan_in <= UNROLL_MAX_INPUTS for layer in layers)
    return hidden_rows and small and total <= spec.registers // 2


def streams_any(spec):
    """Whether a pass of the loop for ``spec`` streams whole rows (a layer too wide for tiles)."""
    writer = _Generator(spec)
    if writer.registers_mode:
        return False
    first = writer.layers[0]
    wide = [
        writer.streams(layer.fan_out, writer.sum_tile)
        for layer in writer.layers
        if not layer.column
    ]
    return any(wide) or (not first.column and writer.streams(first.fan_out, writer.fused_tile))


def source(spec):
    """Return the Python source of a module defining ``train_epoch`` for ``spec``.

    Parameters
    ----------
    spec : Spec

    Returns
    -------
    str
    """
    return _Generator(spec).module()


# ---------------------------------------------------------------------------- generator

# Scalars of the hyper-parameter slots each optimizer kind reads, named as the
# generated code names them (see kernels.optimizers for the slots).
_HYPER_SCALARS = {
    "sgd_decay": ("wd = {dt}(hyper[codes.WEIGHT_DECAY])",),
    "sgd_momentum": (
        "mu = {dt}(hyper[codes.SGD_MOMENTUM])",
        "keep = {dt}(1) - {dt}(hyper[codes.SGD_DAMPENING])",
        "wd = {dt}(hyper[codes.WEIGHT_DECAY])",
    ),
    "sgd_nesterov": (
        "mu = {dt}(hyper[codes.SGD_MOMENTUM])",
        "keep = {dt}(1) - {dt}(hyper[codes.SGD_DAMPENING])",
        "wd = {dt}(hyper[codes.WEIGHT_DECAY])",
    ),
    "adagrad": ("eps = {dt}(hyper[codes.ADAGRAD_EPS])", "wd = {dt}(hyper[codes.WEIGHT_DECAY])"),
    "rmsprop": (
        "alpha = {dt}(hyper[codes.RMSPROP_ALPHA])",
        "akeep = {dt}(1) - {dt}(hyper[codes.RMSPROP_ALPHA])",
        "eps = {dt}(hyper[codes.RMSPROP_EPS])",
        "mu = {dt}(hyper[codes.RMSPROP_MOMENTUM])",
        "wd = {dt}(hyper[codes.WEIGHT_DECAY])",
    ),
    "adadelta": (
        "rho = {dt}(hyper[codes.ADADELTA_RHO])",
        "rkeep = {dt}(1) - {dt}(hyper[codes.ADADELTA_RHO])",
        "eps = {dt}(hyper[codes.ADADELTA_EPS])",
        "wd = {dt}(hyper[codes.WEIGHT_DECAY])",
    ),
    "adam": (
        "b1 = {dt}(hyper[codes.ADAM_BETA1])",
        "b2 = {dt}(hyper[codes.ADAM_BETA2])",
        "k1 = {dt}(1) - {dt}(hyper[codes.ADAM_BETA1])",
        "k2 = {dt}(1) - {dt}(hyper[codes.ADAM_BETA2])",
        "eps = {dt}(hyper[codes.ADAM_EPS])",
        "wd = {dt}(hyper[codes.WEIGHT_DECAY])",
    ),
}


class _Generator:
    def __init__(self, spec):
        self.spec = spec
        self.V = spec.lanes
        self.dt = f"np.{spec.dtype}"
        self.layers = _layers(spec)
        self.kind = spec.optimizer
        self.plain = self.kind == "sgd"
        self.stateful = STATE_ROWS_USED[self.kind] > 0
        # Decaying optimizer state and its products cross the subnormal range,
        # where x86 takes a microcode assist per operation (10-100x slower).
        # With the CPU's flush-to-zero/denormals-are-zero modes on for the call,
        # subnormal results are 0 in hardware, and the software flush of the
        # stored state (vflush) is not needed: Adam on 784-40-10 went from
        # 124k to 198k samples/s. Plain SGD gains nothing and runs unchanged.
        self.ftz = spec.flush_to_zero and self.stateful
        self.registers_mode = register_mode(spec)
        first = self.layers[0]
        # Pipelining the first layer (its update for this sample fused with the
        # forward pass of the next) pays when that layer is the big one.
        self.pipelined = (not self.registers_mode) and (
            first.fan_in >= WIDE_INPUT or first.fan_out >= SKIP_HIDDEN_MIN
        )
        # Vectors a loop may keep at once: running sums, plus deltas and the
        # optimizer's temporaries in a fused update pass.
        self.sum_tile = max(1, spec.registers - 4)
        self.fused_tile = max(1, (spec.registers - 10) // 2)
        self.w = _Writer()
        self.names = 0

    # ------------------------------------------------------------ small helpers

    def fresh(self, stem):
        # An underscore before the number: "k1" or "b2" would be Adam's constants.
        self.names += 1
        return f"{stem}_{self.names}"

    def c(self, value):
        # A float constant in the network's dtype.
        return f"{self.dt}({value!r})"

    def load(self, array, offset, width):
        return f"vload({array}, {offset}, {width})"

    def store(self, array, offset, vector):
        self.w(f"vstore({array}, {offset}, {vector})")

    @staticmethod
    def splat(scalar, width):
        return f"vsplat({scalar}, {width})"

    @staticmethod
    def tiles(chunks, size):
        return [chunks[k : k + size] for k in range(0, len(chunks), size)]

    # ------------------------------------------------------------ module

    def module(self):
        spec = self.spec
        w = self.w
        w(f'"""Generated by fastnn.codegen.generator (version {GENERATOR_VERSION}); do not edit.')
        w()
        w(
            f"Network {'-'.join(map(str, spec.sizes))}, hidden activation codes "
            f"{list(spec.activations)}, loss code {spec.loss_code}, {spec.dtype}, optimizer"
        )
        w(
            f"{spec.optimizer}, {spec.lanes}-lane vectors, {spec.registers} registers, "
            f"{'register' if self.registers_mode else 'memory'} mode"
            f"{', first layer pipelined' if self.pipelined else ''}."
        )
        w('"""')
        w()
        w("import numpy as np")
        w("from numba import prange")
        w()
        w("from fastnn.kernels._intrinsics import (")
        w("    flush_denormals,")
        w("    prefetch_element,")
        w("    prefetch_row,")
        w("    restore_mxcsr,")
        w(")")
        w("from fastnn.kernels import codes")
        w("from fastnn.kernels._jit import jit")
        w("from fastnn.kernels.bundles import member_row")
        w("from fastnn.kernels._simd import (")
        for name in (
            "trailing_zeros",
            "vadd",
            "vdiv",
            "vflush",
            "vfma",
            "vget",
            "vload",
            "vmax",
            "vmul",
            "vnonzero_bits",
            "vnonzero_mask",
            "vrelu",
            "vset",
            "vsplat",
            "vsqrt",
            "vstore",
            "vsub",
            "vsum",
            "vwhere_positive",
        ):
            w(f"    {name},")
        w(")")
        w("from fastnn.kernels.activations import activation_scalar, derivative_scalar")
        w("from fastnn.kernels.optimizers import smallest_normal, step_lr")
        w("from fastnn.kernels.train import sample_correct, sample_loss_delta")
        w()
        w()
        w("@jit")
        w("def train_epoch(group, member):")
        w.indent()
        w('"""One epoch of per-sample training; see fastnn.kernels.train.train_epoch_sample."""')
        # The group's layout, loss and optimizer code are this module's constants.
        w("X, T = group.X, group.T")
        w("theta, state, hyper, step = member.theta, member.state, member.hyper, member.step")
        w("order, acts, deltas, y = member.order, member.acts, member.deltas, member.y")
        w("step_losses, step_correct = member.losses, member.correct")
        w("n_steps = order.shape[0]")
        w("if n_steps == 0:")
        w("    return 0")
        if self.ftz:
            w("csr = flush_denormals()")
        w("y_row = y[0]")
        w(f"n_inputs = {spec.sizes[0]}")
        w("XF = X.reshape(X.size)")
        w("S0 = state[0]")
        w("S1 = state[1]")
        w("S2 = state[2]")
        w(f"lr = {self.dt}(hyper[codes.LR])")
        w("nlr = -lr")
        w("tiny = smallest_normal(theta)")
        family = "rmsprop" if self.kind.startswith("rmsprop") else self.kind
        family = "adam" if family.startswith("adam") else family
        for line in _HYPER_SCALARS.get(family, ()):
            w(line.format(dt=self.dt))
        if self.registers_mode:
            self.register_body()
        else:
            self.memory_body()
        w.dedent()
        self.many_models()
        return w.text()

    def many_models(self):
        """Emit ``train_models``: one epoch of each of M networks, one per thread.

        See :mod:`fastnn.kernels.parallel`; each thread calls ``train_epoch`` on its
        network's rows of the stacked arrays, so each network trains exactly as
        it would alone.
        """
        w = self.w
        w()
        w()
        w("@jit(parallel=True)")
        w("def train_models(group, members, done):")
        w.indent()
        w('"""One epoch of each network; see fastnn.kernels.parallel.train_models_sample."""')
        w("for m in prange(members.theta.shape[0]):")
        w("    done[m] = train_epoch(group, member_row(members, m))")
        w.dedent()

    def step_constants(self):
        # Scalars that change with the step count t: the learning rate (with
        # its per-step decay, kernels.optimizers.step_lr) and the optimizer's.
        w, dt, kind = self.w, self.dt, self.kind
        w("lr = step_lr(hyper, step[0] + 1)")
        w("nlr = -lr")
        if kind.startswith("adam"):
            w(f"shrink = {dt}(1) - lr * {dt}(hyper[codes.ADAMW_DECAY])")
        w("step[0] += 1")
        if not self.stateful and kind != "adagrad":
            return
        w("t = step[0]")
        if kind in ("sgd_momentum", "sgd_nesterov"):
            # The first step sets the momentum buffer to g (torch): 0 * b + 1 * g.
            w(f"p_mu = mu if t > 1 else {self.c(0.0)}")
            w(f"p_keep = keep if t > 1 else {self.c(1.0)}")
        elif kind == "adagrad":
            w(f"p_clr = {dt}(lr / (1.0 + (t - 1) * hyper[codes.ADAGRAD_LR_DECAY]))")
        elif kind.startswith("adam"):
            w(f"p_step = {dt}(lr / (1.0 - float(hyper[codes.ADAM_BETA1]) ** t))")
            w(f"p_c2 = {dt}(np.sqrt(1.0 - float(hyper[codes.ADAM_BETA2]) ** t))")

    # ------------------------------------------------------------ optimizer updates

    def update(self, th, gradient, offset, width, registers=False):
        """Emit the optimizer step of one vector of parameters; return the new values' name.

        ``th`` names the current values (already loaded), ``gradient`` is an
        expression for their gradient, ``offset`` is where they live in
        ``theta`` and in each state row. With ``registers=True`` the state rows
        are variables named ``{th}_s0``... (register mode). Storing the new
        values is the caller's job; the state is stored here.
        """
        w, kind = self.w, self.kind
        new = self.fresh("u")
        g = self.fresh("g")

        def s(name):
            return self.splat(name, width)

        def flush(expression):
            # Stored state below the smallest normal number becomes 0: by the
            # CPU's flush-to-zero mode when it is on, else here, in software.
            return expression if self.ftz else f"vflush({expression}, {s('tiny')})"

        def state_load(row):
            return f"{th}_s{row}" if registers else self.load(f"S{row}", offset, width)

        def state_store(row, value):
            if registers:
                w(f"{th}_s{row} = {value}")
            else:
                self.store(f"S{row}", offset, value)

        if kind == "sgd":
            w(f"{new} = vfma({s('nlr')}, {gradient}, {th})")
            return new
        if kind.startswith("adam"):
            w(f"{g}_th = vmul({th}, {s('shrink')})")
            w(f"{g} = vfma({s('wd')}, {g}_th, {gradient})")
            m = flush(f"vfma({s('b1')}, {state_load(0)}, vmul({s('k1')}, {g}))")
            w(f"{g}_m = {m}")
            state_store(0, f"{g}_m")
            v = flush(f"vfma({s('b2')}, {state_load(1)}, vmul(vmul({s('k2')}, {g}), {g}))")
            w(f"{g}_v = {v}")
            state_store(1, f"{g}_v")
            v = f"{g}_v"
            if kind == "adam_amsgrad":
                w(f"{g}_x = vmax({state_load(2)}, {g}_v)")
                state_store(2, f"{g}_x")
                v = f"{g}_x"
            w(
                f"{new} = vsub({g}_th, vdiv(vmul({s('p_step')}, {g}_m), "
                f"vadd(vdiv(vsqrt({v}), {s('p_c2')}), {s('eps')})))"
            )
            return new
        w(f"{g} = vfma({s('wd')}, {th}, {gradient})")
        if kind == "sgd_decay":
            w(f"{new} = vfma({s('nlr')}, {g}, {th})")
        elif kind in ("sgd_momentum", "sgd_nesterov"):
            b = flush(f"vfma({s('p_mu')}, {state_load(0)}, vmul({s('p_keep')}, {g}))")
            w(f"{g}_b = {b}")
            state_store(0, f"{g}_b")
            if kind == "sgd_nesterov":
                w(f"{new} = vfma({s('nlr')}, vfma({s('mu')}, {g}_b, {g}), {th})")
            else:
                w(f"{new} = vfma({s('nlr')}, {g}_b, {th})")
        elif kind == "adagrad":
            w(f"{g}_s = vfma({g}, {g}, {state_load(0)})")
            state_store(0, f"{g}_s")
            w(f"{new} = vsub({th}, vdiv(vmul({s('p_clr')}, {g}), vadd(vsqrt({g}_s), {s('eps')})))")
        elif kind.startswith("rmsprop"):
            v = flush(f"vfma({s('alpha')}, {state_load(0)}, vmul(vmul({s('akeep')}, {g}), {g}))")
            w(f"{g}_v = {v}")
            state_store(0, f"{g}_v")
            if "centered" in kind:
                a = flush(f"vfma({s('alpha')}, {state_load(1)}, vmul({s('akeep')}, {g}))")
                w(f"{g}_a = {a}")
                state_store(1, f"{g}_a")
                # Clamped at 0, as kernels.optimizers does (NaN stays NaN).
                w(f"{g}_den = vadd(vsqrt(vrelu(vsub({g}_v, vmul({g}_a, {g}_a)))), {s('eps')})")
            else:
                w(f"{g}_den = vadd(vsqrt({g}_v), {s('eps')})")
            if "momentum" in kind:
                b = flush(f"vfma({s('mu')}, {state_load(2)}, vdiv({g}, {g}_den))")
                w(f"{g}_b = {b}")
                state_store(2, f"{g}_b")
                w(f"{new} = vfma({s('nlr')}, {g}_b, {th})")
            else:
                w(f"{new} = vsub({th}, vdiv(vmul({s('lr')}, {g}), {g}_den))")
        elif kind == "adadelta":
            v = flush(f"vfma({s('rho')}, {state_load(0)}, vmul(vmul({s('rkeep')}, {g}), {g}))")
            w(f"{g}_v = {v}")
            state_store(0, f"{g}_v")
            w(f"{g}_u = {state_load(1)}")
            w(
                f"{g}_d = vmul(vdiv(vsqrt(vadd({g}_u, {s('eps')})), "
                f"vsqrt(vadd({g}_v, {s('eps')}))), {g})"
            )
            u = flush(f"vfma({s('rho')}, {g}_u, vmul(vmul({s('rkeep')}, {g}_d), {g}_d))")
            state_store(1, u)
            w(f"{new} = vfma({s('nlr')}, {g}_d, {th})")
        else:  # pragma: no cover - OPTIMIZER_KINDS is closed
            raise ValueError(kind)
        return new

    # ------------------------------------------------------------ activations

    def apply_activation(self, code, vector, width):
        """Emit activation ``code`` of a vector of pre-activations; return its name."""
        w = self.w
        name = self.fresh("h")
        if code == RELU:
            w(f"{name} = vrelu({vector})")
        elif code == IDENTITY:
            w(f"{name} = {vector}")
        elif code == LEAKY_RELU:
            slope = self.splat(self.c(LEAKY_RELU_SLOPE), width)
            w(f"{name} = vadd(vrelu({vector}), vmul({slope}, vsub({vector}, vrelu({vector}))))")
        else:
            # sigmoid, tanh, step: lane by lane through the generic loop's scalar code
            w(f"{name} = {vector}")
            for lane in range(width):
                w(
                    f"{name} = vset({name}, {lane}, activation_scalar({code}, vget({vector}, "
                    f"{lane})))"
                )
        return name

    def derivative(self, code, activation, delta, width):
        """Return an expression for ``delta * f'(.)`` computed from the output ``activation``."""
        one = self.splat(self.c(1.0), width)
        if code == RELU:
            return f"vwhere_positive({activation}, {delta})"
        if code == IDENTITY:
            return delta
        if code == STEP:
            return self.splat(self.c(0.0), width)
        if code == SIGMOID:
            return f"vmul({delta}, vmul({activation}, vsub({one}, {activation})))"
        if code == TANH:
            return f"vmul({delta}, vsub({one}, vmul({activation}, {activation})))"
        if code == LEAKY_RELU:
            slope = self.splat(self.c(LEAKY_RELU_SLOPE), width)
            positive = f"vwhere_positive({activation}, {delta})"
            return f"vadd({positive}, vmul({slope}, vsub({delta}, {positive})))"
        raise ValueError(code)

    # ------------------------------------------------------------ loops over rows and blocks

    def _over_nonzero(self, array, bases, width, body):
        """Emit ``body`` once per index ``i`` < ``width`` where any ``array[base + i]`` != 0.

        The nonzero mask of 64 values at a time is one compare of a 64-lane vector
        (LLVM splits it into register-wide compares), and its set bits are
        visited with count-trailing-zeros: no branch per value, one loop exit
        per 64 values. Beyond 64 values the words are a loop, not unrolled (the
        body is written once, whatever the width): the last word is the last
        64 values, with the bits its predecessor already covered cleared.
        """
        w = self.w
        bits = self.fresh("m")
        if width <= 64:
            parts = []
            whole = width - width % self.V
            for base in bases:
                if whole:
                    parts.append(f"vnonzero_mask({array}, {base}, {whole}, {self.V})")
                for offset, size in pieces(width - whole, self.V):
                    vector = self.load(array, _plus(base, whole + offset), size)
                    parts.append(f"(vnonzero_bits({vector}) << np.uint64({whole + offset}))")
            w(f"{bits} = " + " | ".join(parts))
            w(f"while {bits} != 0:")
            w.indent()
            w(f"i = np.int64(trailing_zeros({bits}))")
            w(f"{bits} &= {bits} - np.uint64(1)")
            body()
            w.dedent()
            return
        words = width // 64
        lanes = min(self.V, 64)
        word = self.fresh("word")

        def visit(start, keep=None):
            parts = [f"vnonzero_mask({array}, {_plus(base, start)}, 64, {lanes})" for base in bases]
            w(f"{bits} = " + " | ".join(parts))
            if keep is not None:
                w(f"{bits} &= np.uint64({keep})")
            w(f"while {bits} != 0:")
            w.indent()
            w(f"i = {_plus(start, 0)} + np.int64(trailing_zeros({bits}))")
            w(f"{bits} &= {bits} - np.uint64(1)")
            body()
            w.dedent()

        w(f"for {word} in range(0, {words * 64}, 64):")
        w.indent()
        visit(word)
        w.dedent()
        if width % 64:
            # The last 64 values, less the bits the words above already saw.
            covered = 64 - width % 64
            visit(width - 64, ((1 << 64) - 1) ^ ((1 << covered) - 1))

    def _over_all(self, count, body):
        w = self.w
        w(f"for i in range({count}):")
        w.indent()
        body()
        w.dedent()

    def over_tiles(self, width, capacity, emit):
        """Emit ``emit(chunks)`` for tiles of at most ``capacity`` vectors covering ``width``.

        ``chunks`` is a list of ``(offset, lanes)``; an offset is an int, or an
        expression of a loop variable. A width that fits one tile is one tile
        of exact pieces (no loop); a wider one is a loop over tiles of whole
        vectors, then one or two tiles for the rest: the code written stays
        the same size whatever the width.
        """
        V = self.V
        every = pieces(width, V)
        if len(every) <= capacity:
            emit(self.merge(every))
            return
        full = width // V
        loops = full // capacity
        step = capacity * V
        if loops == 1:
            emit(self.merge([(k * V, V) for k in range(capacity)]))
        else:
            tile = self.fresh("t")
            self.w(f"for {tile} in range(0, {loops * step}, {step}):")
            self.w.indent()
            emit(self.merge([(_plus(tile, k * V), V) for k in range(capacity)]))
            self.w.dedent()
        rest = [(loops * step + k * V, V) for k in range(full - loops * capacity)]
        tail = [(full * V + start, size) for start, size in pieces(width - full * V, V)]
        groups = [rest + tail] if len(rest) + len(tail) <= capacity else [rest, tail]
        for group in groups:
            if group:
                emit(self.merge(group))

    def merge(self, chunks):
        """Join runs of whole vectors into wider ones (powers of two, at most 64 lanes).

        A 32-lane vector is four 8-lane registers to LLVM, which splits it into
        the same instructions; to Numba it is one value, one call, where
        compiling costs by the call. Pieces narrower than a register stay apart.
        """
        V = self.V
        widest = max(V, min(64, V * MERGE_VECTORS))
        merged = []
        k = 0
        while k < len(chunks):
            start, width = chunks[k]
            run = 0
            while k + run < len(chunks) and chunks[k + run][1] == V:
                run += 1
            if run == 0:
                merged.append((start, width))
                k += 1
                continue
            take = 1
            while take * 2 <= run and take * 2 * V <= widest:
                take *= 2
            merged.append((start, take * V))
            k += take
        return merged

    def over_blocks(self, width, emit):
        """Emit ``emit(offset, lanes)`` for the vectors covering ``width``, in a loop if many."""
        big = max(self.V, min(64, self.V * BLOCK_VECTORS))
        full = width // big
        if full > 1:
            block = self.fresh("k")
            self.w(f"for {block} in range(0, {full * big}, {big}):")
            self.w.indent()
            emit(block, big)
            self.w.dedent()
        else:
            full = 0
        for start, size in pieces(width - full * big, big):
            emit(full * big + start, size)

    def dot(self, width, left, right, name):
        """Emit ``name = <left, right>`` over ``width`` values; ``left``/``right`` map offsets.

        ``left(offset, lanes)`` and ``right(offset, lanes)`` return vector
        expressions. Whole vectors are summed into one vector, reduced once.
        """
        w = self.w
        big = max(self.V, min(64, self.V * BLOCK_VECTORS))
        full = width // big
        terms = []
        if full > 1:
            acc, block = self.fresh("acc"), self.fresh("k")
            w(f"{acc} = {self.splat(self.c(0.0), big)}")
            w(f"for {block} in range(0, {full * big}, {big}):")
            w(f"    {acc} = vfma({left(block, big)}, {right(block, big)}, {acc})")
            terms.append(f"vsum({acc})")
        else:
            full = 0
        for start, size in pieces(width - full * big, big):
            o = full * big + start
            terms.append(f"vsum(vmul({left(o, size)}, {right(o, size)}))")
        w(f"{name} = " + " + ".join(terms))

    # ------------------------------------------------------------ memory mode

    def memory_body(self):
        """Emit the loop for networks whose weights stay in memory (streamed per row)."""
        w = self.w
        layers = self.layers
        first = layers[0]
        if self.pipelined:
            w("row = np.int64(order[0])")
            self.forward_first(first)
        w("for s in range(n_steps):")
        w.indent()
        w("row = np.int64(order[s])")
        w("nxt = np.int64(order[s + 1]) if s + 1 < n_steps else row")
        # The row after next, in full: a shuffled order makes every row a cache
        # miss, and the hardware prefetcher cannot guess the next one.
        w("ahead = np.int64(order[s + 2]) if s + 2 < n_steps else nxt")
        line = 64 // (4 if self.spec.dtype == "float32" else 8)
        w(f"for offset in range(0, n_inputs, {line}):")
        w("    prefetch_element(XF, ahead * n_inputs + offset)")
        w("prefetch_row(T, ahead)")
        if not self.pipelined:
            self.forward_first(first)
        if first.activation is not None:
            # The first layer's pre-activations are in `acts`; activate in place.
            self.activate_in_place(first)
        for layer in layers[1:]:
            self.forward_layer(layer)
        out = layers[-1]
        w(
            f"loss = sample_loss_delta({self.spec.loss_code}, acts, {out.unit}, T, row, y_row, "
            "deltas)"
        )
        w("step_losses[s] = loss")
        if self.spec.loss_code != MSE:
            w(f"step_correct[s] = sample_correct({self.spec.loss_code}, y_row, T, row)")
        w("if not np.isfinite(loss):")
        if self.ftz:
            w("    restore_mxcsr(csr)")
        w("    return s")
        self.step_constants()
        for layer in reversed(layers[1:]):
            self.backward_layer(layer)
        if self.pipelined:
            self.backward_first_pipelined(first)
        else:
            self.backward_first(first)
        w.dedent()
        if self.ftz:
            w("restore_mxcsr(csr)")
        w("return n_steps")

    def activate_in_place(self, layer):
        """Emit the activation of ``layer``'s pre-activations stored in ``acts``."""
        w = self.w
        code = layer.activation
        if code in _VECTOR_ACTIVATIONS:

            def one(offset, width):
                pre = self.fresh("p")
                w(f"{pre} = {self.load('acts', _plus(layer.unit, offset), width)}")
                h = self.apply_activation(code, pre, width)
                self.store("acts", _plus(layer.unit, offset), h)

            self.over_blocks(layer.fan_out, one)
        else:
            # sigmoid, tanh, step: the generic loop's scalar code, unit by unit
            w(f"for j in range({layer.unit}, {layer.unit + layer.fan_out}):")
            w(f"    acts[j] = activation_scalar({code}, acts[j])")

    def forward_first(self, layer):
        """Emit the first layer's pre-activations for sample ``row`` into ``acts``."""
        w = self.w
        w("xbase = row * n_inputs")
        if layer.column:
            self._dot_column(layer, "XF", "xbase")
            w(f"acts[{layer.unit}] = z")
            return

        def tile(chunks):
            sums = self._start_sums(layer, chunks)
            body = self._accumulate_rows(layer, chunks, sums, "X[row, i]")
            if layer.fan_in >= WIDE_INPUT:
                self._over_nonzero("XF", ["xbase"], layer.fan_in, body)
            else:
                self._over_all(layer.fan_in, body)
            for (start, _), total in zip(chunks, sums, strict=True):
                self.store("acts", _plus(layer.unit, start), total)

        if self.streams(layer.fan_out, self.sum_tile):
            wide = layer.fan_in >= WIDE_INPUT
            self._stream_rows(layer, "X[row, i]", ("XF", ["xbase"]) if wide else None)
        else:
            self.over_tiles(layer.fan_out, self.sum_tile, tile)

    def streams(self, width, capacity):
        """Whether a pass over ``width`` outputs streams rows instead of tiling them.

        Tiles keep the running sums in registers, but each tile walks every row
        again, a short piece of each: past a few tiles, the pieces of a row
        4 KB apart defeat the prefetchers, and reading each row once, whole,
        with the sums in ``acts`` (L1), is faster.
        """
        return len(pieces(width, self.V)) > capacity * MAX_TILES

    def _stream_rows(self, layer, input_expression, nonzero):
        """Emit ``acts[layer] = b + sum_i input_i * W[i]``, one whole row at a time.

        ``nonzero`` is ``(array, bases)`` to visit only the rows of nonzero
        inputs, or None for every row.
        """
        w = self.w
        unit = layer.unit

        def start(offset, width):
            self.store(
                "acts", _plus(unit, offset), self.load("theta", _plus(layer.b, offset), width)
            )

        self.over_blocks(layer.fan_out, start)

        def add(offset, width):
            row = self.load("theta", _plus("wrow", offset), width)
            total = self.load("acts", _plus(unit, offset), width)
            self.store(
                "acts", _plus(unit, offset), f"vfma({self.splat('ai', width)}, {row}, {total})"
            )

        def body():
            w(f"wrow = {layer.w} + i * {layer.fan_out}")
            w(f"ai = {input_expression}")
            self.over_blocks(layer.fan_out, add)

        if nonzero is None:
            self._over_all(layer.fan_in, body)
        else:
            self._over_nonzero(nonzero[0], nonzero[1], layer.fan_in, body)

    def _start_sums(self, layer, chunks):
        sums = []
        for start, width in chunks:
            sums.append(self.fresh("z"))
            self.w(f"{sums[-1]} = {self.load('theta', _plus(layer.b, start), width)}")
        return sums

    def _accumulate_rows(self, layer, chunks, sums, input_expression):
        w = self.w

        def body():
            w(f"wrow = {layer.w} + i * {layer.fan_out}")
            w(f"ai = {input_expression}")
            for (start, width), total in zip(chunks, sums, strict=True):
                row = self.load("theta", _plus("wrow", start), width)
                w(f"{total} = vfma({self.splat('ai', width)}, {row}, {total})")

        return body

    def _dot_column(self, layer, array, base):
        # z = b + <inputs, W[:, 0]>, W being contiguous for one output unit.
        self.dot(
            layer.fan_in,
            lambda o, n: self.load(array, _plus(base, o), n),
            lambda o, n: self.load("theta", _plus(layer.w, o), n),
            "zdot",
        )
        self.w(f"z = theta[{layer.b}] + zdot")

    def _skips_inactive(self, previous):
        # ReLU and step outputs are often exactly zero: skip those inputs.
        return previous.activation in (RELU, STEP) and previous.fan_out >= SKIP_HIDDEN_MIN

    def forward_layer(self, layer):
        """Emit a later layer's forward pass from the previous layer's outputs in ``acts``."""
        w = self.w
        previous = self.layers[layer.index - 1]
        if layer.column:
            self._dot_column(layer, "acts", previous.unit)
            if layer.activation is None:
                w(f"acts[{layer.unit}] = z")
            else:
                w(f"acts[{layer.unit}] = activation_scalar({layer.activation}, z)")
            return
        vector_activation = layer.activation in _VECTOR_ACTIVATIONS

        def tile(chunks):
            sums = self._start_sums(layer, chunks)
            body = self._accumulate_rows(layer, chunks, sums, f"acts[{previous.unit} + i]")
            if self._skips_inactive(previous):
                self._over_nonzero("acts", [previous.unit], layer.fan_in, body)
            else:
                self._over_all(layer.fan_in, body)
            for (start, width), value in zip(chunks, sums, strict=True):
                if vector_activation:
                    value = self.apply_activation(layer.activation, value, width)
                self.store("acts", _plus(layer.unit, start), value)

        if self.streams(layer.fan_out, self.sum_tile):
            skip = self._skips_inactive(previous)
            self._stream_rows(
                layer, f"acts[{previous.unit} + i]", ("acts", [previous.unit]) if skip else None
            )
            if layer.activation is not None:
                self.activate_in_place(layer)
            return
        self.over_tiles(layer.fan_out, self.sum_tile, tile)
        if layer.activation is not None and not vector_activation:
            self.activate_in_place(layer)

    def backward_layer(self, layer):
        """Emit a later layer's backward pass and update: deltas for the layer below.

        Each weight row is read once: its dot product with this layer's delta
        (with the old weights) gives the lower delta, and the row is updated in
        the same pass.
        """
        w = self.w
        previous = self.layers[layer.index - 1]
        source, code = previous.unit, previous.activation
        if layer.column:
            w(f"d = deltas[{layer.unit}]")

            def one(offset, width):
                a = self.fresh("a")
                old = self.fresh("w")
                w(f"{a} = {self.load('acts', _plus(source, offset), width)}")
                w(f"{old} = {self.load('theta', _plus(layer.w, offset), width)}")
                dv = self.splat("d", width)
                back = self.derivative(code, a, f"vmul({old}, {dv})", width)
                self.store("deltas", _plus(source, offset), back)
                new = self.update(old, f"vmul({a}, {dv})", _plus(layer.w, offset), width)
                self.store("theta", _plus(layer.w, offset), new)

            self.over_blocks(layer.fan_in, one)
            self._update_bias(layer)
            return
        # Plain SGD leaves the rows of inactive ReLUs alone: their gradient and
        # their delta are zero. The deltas start at zero and only active rows
        # are visited. (A stateful optimizer updates every row.)
        skip = self.plain and self._skips_inactive(previous)
        if skip:
            zero = self.c(0.0)
            self.over_blocks(
                previous.fan_out,
                lambda o, n: self.store("deltas", _plus(source, o), self.splat(zero, n)),
            )
        held = len(layer.chunks) <= self.fused_tile
        chunks = self.merge(layer.chunks)
        dnames = []
        if held:
            for start, width in chunks:
                dnames.append(self.fresh("d"))
                w(f"{dnames[-1]} = {self.load('deltas', layer.unit + start, width)}")

        def scale(dot):
            if skip and code == RELU:
                return dot
            return f"({dot}) * derivative_scalar({code}, ai)"

        def row_update(old, delta, offset, width):
            if self.plain:
                return f"vfma({self.splat('nlr * ai', width)}, {delta}, {old})"
            gradient = f"vmul({self.splat('ai', width)}, {delta})"
            return self.update(old, gradient, _plus("wrow", offset), width)

        def held_body():
            w(f"wrow = {layer.w} + i * {layer.fan_out}")
            w(f"ai = acts[{source} + i]")
            rows = []
            for start, width in chunks:
                rows.append(self.fresh("w"))
                w(f"{rows[-1]} = {self.load('theta', _plus('wrow', start), width)}")
            dot = " + ".join(f"vsum(vmul({r}, {d}))" for r, d in zip(rows, dnames, strict=True))
            w(f"deltas[{source} + i] = {scale(dot)}")
            for (start, width), old, d in zip(chunks, rows, dnames, strict=True):
                self.store("theta", _plus("wrow", start), row_update(old, d, start, width))

        def streamed_body():
            # Too many vectors to hold the deltas: one pass over the row, its dot
            # product accumulated in a vector while each piece is updated.
            w(f"wrow = {layer.w} + i * {layer.fan_out}")
            w(f"ai = acts[{source} + i]")
            acc = self.fresh("acc")
            big = max(self.V, min(64, self.V * BLOCK_VECTORS))
            w(f"{acc} = {self.splat(self.c(0.0), big)}")
            tails = []

            def one(offset, width):
                old, d = self.fresh("w"), self.fresh("d")
                w(f"{old} = {self.load('theta', _plus('wrow', offset), width)}")
                w(f"{d} = {self.load('deltas', _plus(layer.unit, offset), width)}")
                if width == big:
                    w(f"{acc} = vfma({old}, {d}, {acc})")
                else:
                    tails.append(self.fresh("tail"))
                    w(f"{tails[-1]} = vsum(vmul({old}, {d}))")
                self.store("theta", _plus("wrow", offset), row_update(old, d, offset, width))

            self.over_blocks(layer.fan_out, one)
            dot = " + ".join([f"vsum({acc})", *tails])
            w(f"deltas[{source} + i] = {scale(dot)}")

        body = held_body if held else streamed_body
        if skip:
            self._over_nonzero("acts", [source], layer.fan_in, body)
        else:
            self._over_all(layer.fan_in, body)
        self._update_bias(layer, list(zip(chunks, dnames, strict=True)) if held else None)

    def _update_bias(self, layer, held=None):
        """Emit the update of ``layer``'s bias from its deltas (``held``: their vector names)."""
        w = self.w

        def one(offset, width, d=None):
            old = self.fresh("b")
            w(f"{old} = {self.load('theta', _plus(layer.b, offset), width)}")
            if d is None:
                d = self.load("deltas", _plus(layer.unit, offset), width)
            new = self.update(old, d, _plus(layer.b, offset), width)
            self.store("theta", _plus(layer.b, offset), new)

        if held:
            for (start, width), d in held:
                one(start, width, d)
        else:
            self.over_blocks(layer.fan_out, one)

    def backward_first(self, layer):
        """Emit the first layer's update without pipelining: every row, from ``X[row]``."""
        w = self.w
        if layer.column:
            w(f"d = deltas[{layer.unit}]")
            w("xbase = row * n_inputs")

            def one(offset, width):
                x = self.load("XF", _plus("xbase", offset), width)
                old = self.fresh("w")
                w(f"{old} = {self.load('theta', _plus(layer.w, offset), width)}")
                gradient = f"vmul({x}, {self.splat('d', width)})"
                new = self.update(old, gradient, _plus(layer.w, offset), width)
                self.store("theta", _plus(layer.w, offset), new)

            self.over_blocks(layer.fan_in, one)
            self._update_bias(layer)
            return

        def tile(chunks):
            dnames = self._load_deltas(layer, chunks)

            def body():
                w(f"wrow = {layer.w} + i * {layer.fan_out}")
                w("xi = X[row, i]")
                for (start, width), d in zip(chunks, dnames, strict=True):
                    old = self.fresh("w")
                    w(f"{old} = {self.load('theta', _plus('wrow', start), width)}")
                    if self.plain:
                        new = f"vfma({self.splat('nlr * xi', width)}, {d}, {old})"
                    else:
                        gradient = f"vmul({self.splat('xi', width)}, {d})"
                        new = self.update(old, gradient, _plus("wrow", start), width)
                    self.store("theta", _plus("wrow", start), new)

            self._over_all(layer.fan_in, body)

        if self.streams(layer.fan_out, self.fused_tile):

            def one(offset, width):
                old = self.fresh("w")
                d = self.load("deltas", _plus(layer.unit, offset), width)
                w(f"{old} = {self.load('theta', _plus('wrow', offset), width)}")
                if self.plain:
                    new = f"vfma({self.splat('nlr * xi', width)}, {d}, {old})"
                else:
                    gradient = f"vmul({self.splat('xi', width)}, {d})"
                    new = self.update(old, gradient, _plus("wrow", offset), width)
                self.store("theta", _plus("wrow", offset), new)

            def rows():
                w(f"wrow = {layer.w} + i * {layer.fan_out}")
                w("xi = X[row, i]")
                self.over_blocks(layer.fan_out, one)

            self._over_all(layer.fan_in, rows)
        else:
            self.over_tiles(layer.fan_out, self.fused_tile, tile)
        self._update_bias(layer)

    def _load_deltas(self, layer, chunks):
        names = []
        for start, width in chunks:
            names.append(self.fresh("d"))
            self.w(f"{names[-1]} = {self.load('deltas', _plus(layer.unit, start), width)}")
        return names

    def backward_first_pipelined(self, layer):
        """Emit the first layer's update fused with the next sample's forward pass.

        One pass over W: each row is updated with this sample's gradient and, in
        the same registers, added into the next sample's sums. Plain SGD visits
        only rows where this sample or the next has a nonzero input (other rows
        neither change nor contribute); other optimizers visit every row, since
        their state moves even where the gradient is zero. On the last step the
        "next" sample is the current one, and its sums go unused.
        """
        w = self.w
        self._update_bias(layer)
        w("xbase = row * n_inputs")
        w("nbase = nxt * n_inputs")

        def tile(chunks):
            dnames = self._load_deltas(layer, chunks)
            sums = self._start_sums(layer, chunks)

            def body():
                w(f"wrow = {layer.w} + i * {layer.fan_out}")
                w("xi = X[row, i]")
                w("xn = X[nxt, i]")
                for (start, width), d, total in zip(chunks, dnames, sums, strict=True):
                    old = self.fresh("w")
                    w(f"{old} = {self.load('theta', _plus('wrow', start), width)}")
                    if self.plain:
                        new = self.fresh("u")
                        w(f"{new} = vfma({self.splat('nlr * xi', width)}, {d}, {old})")
                    else:
                        gradient = f"vmul({self.splat('xi', width)}, {d})"
                        new = self.update(old, gradient, _plus("wrow", start), width)
                    self.store("theta", _plus("wrow", start), new)
                    w(f"{total} = vfma({self.splat('xn', width)}, {new}, {total})")

            if self.plain and layer.fan_in >= WIDE_INPUT:
                self._over_nonzero("XF", ["xbase", "nbase"], layer.fan_in, body)
            else:
                self._over_all(layer.fan_in, body)
            for (start, _), total in zip(chunks, sums, strict=True):
                self.store("acts", _plus(layer.unit, start), total)

        if not self.streams(layer.fan_out, self.fused_tile):
            self.over_tiles(layer.fan_out, self.fused_tile, tile)
            return
        # Whole rows: the next sample's sums start from the updated bias, in acts.
        unit = layer.unit
        self.over_blocks(
            layer.fan_out,
            lambda o, n: self.store(
                "acts", _plus(unit, o), self.load("theta", _plus(layer.b, o), n)
            ),
        )

        def one(offset, width):
            old = self.fresh("w")
            w(f"{old} = {self.load('theta', _plus('wrow', offset), width)}")
            d = self.load("deltas", _plus(unit, offset), width)
            if self.plain:
                new = self.fresh("u")
                w(f"{new} = vfma({self.splat('nlr * xi', width)}, {d}, {old})")
            else:
                gradient = f"vmul({self.splat('xi', width)}, {d})"
                new = self.update(old, gradient, _plus("wrow", offset), width)
            self.store("theta", _plus("wrow", offset), new)
            total = self.load("acts", _plus(unit, offset), width)
            self.store(
                "acts", _plus(unit, offset), f"vfma({self.splat('xn', width)}, {new}, {total})"
            )

        def rows():
            w(f"wrow = {layer.w} + i * {layer.fan_out}")
            w("xi = X[row, i]")
            w("xn = X[nxt, i]")
            self.over_blocks(layer.fan_out, one)

        if self.plain and layer.fan_in >= WIDE_INPUT:
            self._over_nonzero("XF", ["xbase", "nbase"], layer.fan_in, rows)
        else:
            self._over_all(layer.fan_in, rows)

    # ------------------------------------------------------------ register mode

    def register_body(self):
        """Emit the loop for a network whose weights (and state) all stay in registers.

        Hidden layers are in rows form (one vector per input row, unrolled); the
        output layer may be a single unit (column form, a dot product). The
        weights are loaded before the loop and stored after it.
        """
        w = self.w
        layers = self.layers
        rows_used = STATE_ROWS_USED[self.kind]
        params = []  # (variable, offset in theta, width)
        for layer in layers:
            if layer.column:
                for start, width in layer.in_chunks:
                    params.append((f"L{layer.index}c{start}", layer.w + start, width))
                params.append((f"L{layer.index}b", layer.b, 1))
                continue
            for i in range(layer.fan_in):
                for start, width in layer.chunks:
                    offset = layer.w + i * layer.fan_out + start
                    params.append((f"L{layer.index}r{i}c{start}", offset, width))
            for start, width in layer.chunks:
                params.append((f"L{layer.index}b{start}", layer.b + start, width))
        for name, offset, width in params:
            w(f"{name} = {self.load('theta', offset, width)}")
            for row in range(rows_used):
                w(f"{name}_s{row} = {self.load(f'S{row}', offset, width)}")
        w("done = n_steps")
        w("for s in range(n_steps):")
        w.indent()
        w("row = np.int64(order[s])")
        # A step takes a few nanoseconds, a shuffled row comes from memory in
        # about a hundred: ask for the rows of a step this far ahead.
        w(f"if s + {REGISTER_PREFETCH_STEPS} < n_steps:")
        w(f"    ahead = np.int64(order[s + {REGISTER_PREFETCH_STEPS}])")
        w("    prefetch_row(X, ahead)")
        w("    prefetch_row(T, ahead)")
        w("xbase = row * n_inputs")
        # Forward: per layer its outputs as vectors (a dict start -> name) or,
        # for a column layer, a scalar name; with the scalars and vectors that
        # feed the next layer.
        scalars = [f"X[row, {i}]" for i in range(layers[0].fan_in)]
        vectors = [
            self.load("XF", f"xbase + {start}", width) for start, width in layers[0].in_chunks
        ]
        inputs = [(scalars, vectors)]
        outputs = []
        for layer in layers:
            scalars, vectors = inputs[-1]
            if layer.column:
                terms = [
                    f"vsum(vmul({vectors[k]}, L{layer.index}c{start}))"
                    for k, (start, _) in enumerate(layer.in_chunks)
                ]
                z = self.fresh("zs")
                w(f"{z} = vget(L{layer.index}b, 0) + " + " + ".join(terms))
                outputs.append(z)
                continue
            result = {}
            for start, width in layer.chunks:
                total = self.fresh("z")
                w(f"{total} = L{layer.index}b{start}")
                for i, value in enumerate(scalars):
                    w(
                        f"{total} = vfma({self.splat(value, width)}, L{layer.index}r{i}c{start}, "
                        f"{total})"
                    )
                if layer.activation is not None:
                    result[start] = self.apply_activation(layer.activation, total, width)
                else:
                    result[start] = total
            outputs.append(result)
            inputs.append(
                (
                    [
                        f"vget({result[start]}, {lane})"
                        for start, width in layer.chunks
                        for lane in range(width)
                    ],
                    [result[start] for start, _ in layer.chunks],
                )
            )
        self._register_loss(layers[-1], outputs[-1])
        self.step_constants()
        delta = self._register_output_delta(layers[-1])
        for layer in reversed(layers):
            index = layer.index
            previous = layers[index - 1] if index > 0 else None
            in_scalars, in_vectors = inputs[index]
            new_delta = None
            if layer.column:
                if previous is not None:
                    new_delta = {}
                    for k, (start, width) in enumerate(previous.chunks):
                        back = f"vmul(L{index}c{start}, {self.splat(delta, width)})"
                        name = self.fresh("dd")
                        lower = self.derivative(previous.activation, in_vectors[k], back, width)
                        w(f"{name} = {lower}")
                        new_delta[start] = name
                for k, (start, width) in enumerate(layer.in_chunks):
                    param = f"L{index}c{start}"
                    gradient = f"vmul({in_vectors[k]}, {self.splat(delta, width)})"
                    w(f"{param} = {self.update(param, gradient, None, width, registers=True)}")
                param = f"L{index}b"
                w(f"{param} = {self.update(param, self.splat(delta, 1), None, 1, registers=True)}")
                delta = new_delta
                continue
            if previous is not None:
                # delta_below[i] = <W[i, :], delta> * f'(a_i), gathered lane by lane.
                new_delta = {}
                i = 0
                for k, (start, width) in enumerate(previous.chunks):
                    raw = self.fresh("raw")
                    w(f"{raw} = {self.splat(self.c(0.0), width)}")
                    for lane in range(width):
                        dot = " + ".join(
                            f"vsum(vmul(L{index}r{i}c{c}, {delta[c]}))" for c, _ in layer.chunks
                        )
                        w(f"{raw} = vset({raw}, {lane}, {dot})")
                        i += 1
                    name = self.fresh("dd")
                    back = self.derivative(previous.activation, in_vectors[k], raw, width)
                    w(f"{name} = {back}")
                    new_delta[start] = name
            for i, value in enumerate(in_scalars):
                for start, width in layer.chunks:
                    param = f"L{index}r{i}c{start}"
                    gradient = f"vmul({self.splat(value, width)}, {delta[start]})"
                    w(f"{param} = {self.update(param, gradient, None, width, registers=True)}")
            for start, width in layer.chunks:
                param = f"L{index}b{start}"
                w(f"{param} = {self.update(param, delta[start], None, width, registers=True)}")
            delta = new_delta
        w.dedent()
        # The weights (and state) go back to memory once, after the loop.
        for name, offset, _ in params:
            self.store("theta", offset, name)
            for row in range(rows_used):
                self.store(f"S{row}", offset, f"{name}_s{row}")
        if self.ftz:
            w("restore_mxcsr(csr)")
        w("return done")

    def _register_loss(self, layer, output):
        w = self.w
        code = self.spec.loss_code
        if layer.column and code == MSE:
            # The course's regression: loss and delta inline, in float64 as the
            # generic loop accumulates them.
            w("target = T[row, 0]")
            w(f"diff = np.float64({output}) - target")
            w("loss = 0.5 * diff * diff")
            w(f"dout = {self.dt}({output} - target)")
        else:
            if layer.column:
                w(f"acts[{layer.unit}] = {output}")
            else:
                for start, _ in layer.chunks:
                    self.store("acts", layer.unit + start, output[start])
            w(f"loss = sample_loss_delta({code}, acts, {layer.unit}, T, row, y_row, deltas)")
            if code != MSE:
                w(f"step_correct[s] = sample_correct({code}, y_row, T, row)")
        w("step_losses[s] = loss")
        w("if not np.isfinite(loss):")
        w("    done = s")
        w("    break")

    def _register_output_delta(self, layer):
        w = self.w
        if layer.column:
            if self.spec.loss_code != MSE:
                w(f"dout = deltas[{layer.unit}]")
            return "dout"
        delta = {}
        for start, width in layer.chunks:
            name = self.fresh("dd")
            w(f"{name} = {self.load('deltas', layer.unit + start, width)}")
            delta[start] = name
        return delta


def lanes_for(dtype, register_bits):
    """Vector width in elements of ``dtype`` ("float32"/"float64") for the register size."""
    return register_bits // (32 if dtype == "float32" else 64)


def registers_for(register_bits):
    """Vector registers of a target whose widest registers have ``register_bits`` bits."""
    return 32 if register_bits >= 512 else 16
