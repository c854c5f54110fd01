"""What a generated loop depends on, and the shape of the network it is written for.

:class:`Spec` names everything the text of a generated module depends on (widths,
activations, loss, dtype, the optimizer's structural variant, the target's vector
width and register count); :func:`layers_of` turns it into the per-layer geometry
(offsets into ``theta`` and ``acts``, the vector pieces of each width) that the
emitters of :mod:`fastnn.codegen.emit` and its subclasses write loops over;
:func:`register_mode` decides which of the two loop bodies a spec gets. The
module is the bottom of the generator's modules: it imports none of them.
"""

from dataclasses import dataclass

from fastnn.kernels import codes
from fastnn.kernels.codes import ADADELTA, ADAGRAD, ADAM, RMSPROP, SGD

#: Bump when the generated code changes, so old cached modules are not reused.
GENERATOR_VERSION = 8

# Hidden ReLU/step inputs at least this wide have their zeros skipped through a
# nonzero bit mask, as inputs of kernels.tuning.WIDE_INPUT or more are.
SKIP_HIDDEN_MIN = 16
# Rows-form layers with at most this many inputs are unrolled in register mode.
UNROLL_MAX_INPUTS = 16
# Register mode prefetches the rows of the step this many steps ahead.
REGISTER_PREFETCH_STEPS = 16
# Whole vectors a tile's runs are joined into (see Emitter.merge), and the width in
# vectors of one step of the loops over a layer's values.
MERGE_VECTORS = 8
BLOCK_VECTORS = 4
# A pass needing more tiles of registers than this streams whole rows instead.
MAX_TILES = 2

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


def plus(*terms):
    """An index expression: the sum of ``terms`` (ints and names), the ints folded."""
    constant = sum(term for term in terms if isinstance(term, int))
    names = [str(term) for term in terms if not isinstance(term, int)]
    if not names:
        return constant
    return " + ".join(names) + (f" + {constant}" if constant else "")


class Layer:
    """The geometry of one layer in ``theta``, ``acts`` and ``deltas``, and its vector pieces.

    Parameters
    ----------
    index : int
        Position of the layer, 0 for the first (the one fed by the inputs).
    fan_in, fan_out : int
        Its inputs and outputs.
    w_offset, b_offset : int
        Where its weights (``fan_in`` rows of ``fan_out``) and bias start in ``theta``.
    unit : int
        Where its outputs start in ``acts`` and ``deltas``.
    activation : int or None
        Its activation code; None for the output layer (the loss applies it).
    lanes : int
        The target's vector width in elements.
    """

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


def layers_of(spec):
    """Return the :class:`Layer` of each weight matrix of ``spec``'s network, inputs first."""
    layers = []
    offset = 0
    unit = 0
    n = len(spec.sizes) - 1
    for index in range(n):
        fan_in, fan_out = spec.sizes[index], spec.sizes[index + 1]
        activation = spec.activations[index] if index < n - 1 else None
        layers.append(
            Layer(
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
    layers = layers_of(spec)
    copies = 1 + STATE_ROWS_USED[spec.optimizer]
    total = sum(_vector_count(layer) for layer in layers) * copies
    hidden_rows = all(not layer.column for layer in layers[:-1])
    small = all(layer.column or layer.fan_in <= UNROLL_MAX_INPUTS for layer in layers)
    return hidden_rows and small and total <= spec.registers // 2


def lanes_for(dtype, register_bits):
    """Vector width in elements of ``dtype`` ("float32"/"float64") for the register size."""
    return register_bits // (32 if dtype == "float32" else 64)


def registers_for(register_bits):
    """Vector registers of a target whose widest registers have ``register_bits`` bits."""
    return 32 if register_bits >= 512 else 16
