"""The primitives every generated loop is written with.

:class:`Writer` collects indented lines of Python source; :class:`Emitter` holds
what a generator knows of its spec (layers, vector width, the register budget,
the optimizer kind, which mode it writes) and writes the small pieces every loop
body is made of: fresh variable names, vector loads, stores and splats, and the
loops over a layer's values (by nonzero inputs, by tiles of registers, by blocks
of vectors, a dot product). The optimizer steps and activations are in
:mod:`fastnn.codegen.formulas`, the two loop bodies in
:mod:`fastnn.codegen.memory_loop` and :mod:`fastnn.codegen.register_loop`.
"""

from fastnn.codegen.spec import (
    BLOCK_VECTORS,
    MAX_TILES,
    MERGE_VECTORS,
    SKIP_HIDDEN_MIN,
    STATE_ROWS_USED,
    layers_of,
    pieces,
    plus,
    register_mode,
)
from fastnn.kernels.tuning import WIDE_INPUT


class Writer:
    """Lines of Python source at an indentation depth: ``writer(text)`` adds one line."""

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


class Emitter:
    """The state of one generator and the primitives its loops are written with.

    Parameters
    ----------
    spec : fastnn.codegen.spec.Spec
        The network and target the code is written for.

    Notes
    -----
    The methods write lines into ``self.w``; ``load`` and ``splat`` return
    expressions instead, for the caller to place inside its own lines.
    """

    def __init__(self, spec):
        self.spec = spec
        self.V = spec.lanes
        self.dt = f"np.{spec.dtype}"
        self.layers = layers_of(spec)
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
        self.w = Writer()
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

    # ------------------------------------------------------------ loops over rows and blocks

    def over_nonzero(self, array, bases, width, body):
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
                    vector = self.load(array, plus(base, whole + offset), size)
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
            parts = [f"vnonzero_mask({array}, {plus(base, start)}, 64, {lanes})" for base in bases]
            w(f"{bits} = " + " | ".join(parts))
            if keep is not None:
                w(f"{bits} &= np.uint64({keep})")
            w(f"while {bits} != 0:")
            w.indent()
            w(f"i = {plus(start, 0)} + np.int64(trailing_zeros({bits}))")
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

    def over_all(self, count, body):
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
            emit(self.merge([(plus(tile, k * V), V) for k in range(capacity)]))
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

    def streams(self, width, capacity):
        """Whether a pass over ``width`` outputs streams rows instead of tiling them.

        Tiles keep the running sums in registers, but each tile walks every row
        again, a short piece of each: past a few tiles, the pieces of a row
        4 KB apart defeat the prefetchers, and reading each row once, whole,
        with the sums in ``acts`` (L1), is faster.
        """
        return len(pieces(width, self.V)) > capacity * MAX_TILES
