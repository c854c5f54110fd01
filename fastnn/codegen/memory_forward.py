"""The forward pass of the memory-mode loop: a sample's activations into ``acts``.

In memory mode the weights stay in ``theta`` and are streamed row by row; each
layer's running sums are vectors held in registers across the rows of a tile
(or, for a layer too wide for a few tiles, whole rows added into ``acts``).
:class:`MemoryForward` writes those passes; :mod:`fastnn.codegen.memory_loop`
adds the backward pass and the loop over samples.
"""

from fastnn.codegen.formulas import Formulas
from fastnn.codegen.spec import SKIP_HIDDEN_MIN, plus
from fastnn.kernels.codes import IDENTITY, LEAKY_RELU, RELU, STEP
from fastnn.kernels.tuning import WIDE_INPUT

# Hidden activations computed on whole vectors; the others go unit by unit through
# the generic loop's scalar code.
_VECTOR_ACTIVATIONS = (RELU, IDENTITY, LEAKY_RELU)


class MemoryForward(Formulas):
    """Writes the forward pass of one sample with the weights in memory."""

    def activate_in_place(self, layer):
        """Emit the activation of ``layer``'s pre-activations stored in ``acts``."""
        w = self.w
        code = layer.activation
        if code in _VECTOR_ACTIVATIONS:

            def one(offset, width):
                pre = self.fresh("p")
                w(f"{pre} = {self.load('acts', plus(layer.unit, offset), width)}")
                h = self.apply_activation(code, pre, width)
                self.store("acts", plus(layer.unit, offset), h)

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
            sums = self.start_sums(layer, chunks)
            body = self._accumulate_rows(layer, chunks, sums, "X[row, i]")
            if layer.fan_in >= WIDE_INPUT:
                self.over_nonzero("XF", ["xbase"], layer.fan_in, body)
            else:
                self.over_all(layer.fan_in, body)
            for (start, _), total in zip(chunks, sums, strict=True):
                self.store("acts", plus(layer.unit, start), total)

        if self.streams(layer.fan_out, self.sum_tile):
            wide = layer.fan_in >= WIDE_INPUT
            self._stream_rows(layer, "X[row, i]", ("XF", ["xbase"]) if wide else None)
        else:
            self.over_tiles(layer.fan_out, self.sum_tile, tile)

    def _stream_rows(self, layer, input_expression, nonzero):
        """Emit ``acts[layer] = b + sum_i input_i * W[i]``, one whole row at a time.

        ``nonzero`` is ``(array, bases)`` to visit only the rows of nonzero
        inputs, or None for every row.
        """
        w = self.w
        unit = layer.unit

        def start(offset, width):
            self.store("acts", plus(unit, offset), self.load("theta", plus(layer.b, offset), width))

        self.over_blocks(layer.fan_out, start)

        def add(offset, width):
            row = self.load("theta", plus("wrow", offset), width)
            total = self.load("acts", plus(unit, offset), width)
            self.store(
                "acts", plus(unit, offset), f"vfma({self.splat('ai', width)}, {row}, {total})"
            )

        def body():
            w(f"wrow = {layer.w} + i * {layer.fan_out}")
            w(f"ai = {input_expression}")
            self.over_blocks(layer.fan_out, add)

        if nonzero is None:
            self.over_all(layer.fan_in, body)
        else:
            self.over_nonzero(nonzero[0], nonzero[1], layer.fan_in, body)

    def start_sums(self, layer, chunks):
        sums = []
        for start, width in chunks:
            sums.append(self.fresh("z"))
            self.w(f"{sums[-1]} = {self.load('theta', plus(layer.b, start), width)}")
        return sums

    def _accumulate_rows(self, layer, chunks, sums, input_expression):
        w = self.w

        def body():
            w(f"wrow = {layer.w} + i * {layer.fan_out}")
            w(f"ai = {input_expression}")
            for (start, width), total in zip(chunks, sums, strict=True):
                row = self.load("theta", plus("wrow", start), width)
                w(f"{total} = vfma({self.splat('ai', width)}, {row}, {total})")

        return body

    def _dot_column(self, layer, array, base):
        # z = b + <inputs, W[:, 0]>, W being contiguous for one output unit.
        self.dot(
            layer.fan_in,
            lambda o, n: self.load(array, plus(base, o), n),
            lambda o, n: self.load("theta", plus(layer.w, o), n),
            "zdot",
        )
        self.w(f"z = theta[{layer.b}] + zdot")

    def skips_inactive(self, previous):
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
            sums = self.start_sums(layer, chunks)
            body = self._accumulate_rows(layer, chunks, sums, f"acts[{previous.unit} + i]")
            if self.skips_inactive(previous):
                self.over_nonzero("acts", [previous.unit], layer.fan_in, body)
            else:
                self.over_all(layer.fan_in, body)
            for (start, width), value in zip(chunks, sums, strict=True):
                if vector_activation:
                    value = self.apply_activation(layer.activation, value, width)
                self.store("acts", plus(layer.unit, start), value)

        if self.streams(layer.fan_out, self.sum_tile):
            skip = self.skips_inactive(previous)
            self._stream_rows(
                layer, f"acts[{previous.unit} + i]", ("acts", [previous.unit]) if skip else None
            )
            if layer.activation is not None:
                self.activate_in_place(layer)
            return
        self.over_tiles(layer.fan_out, self.sum_tile, tile)
        if layer.activation is not None and not vector_activation:
            self.activate_in_place(layer)
