"""The memory-mode loop: one sample at a time, the weights streamed from ``theta``.

:class:`MemoryLoop` writes the loop over a shuffled epoch for networks too big
to keep in registers: prefetching the rows ahead, the forward pass
(:mod:`fastnn.codegen.memory_forward`), the loss, then the backward pass with
each layer's update fused into the pass that computes its gradient, and, when
the first layer is the big one, that layer's update fused with the next
sample's forward pass.
"""

from fastnn.codegen.memory_forward import MemoryForward
from fastnn.codegen.spec import BLOCK_VECTORS, plus
from fastnn.kernels.codes import MSE, RELU
from fastnn.kernels.tuning import WIDE_INPUT


class MemoryLoop(MemoryForward):
    """Writes the memory-mode loop body: forward, loss, backward and update per sample."""

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
                w(f"{a} = {self.load('acts', plus(source, offset), width)}")
                w(f"{old} = {self.load('theta', plus(layer.w, offset), width)}")
                dv = self.splat("d", width)
                back = self.derivative(code, a, f"vmul({old}, {dv})", width)
                self.store("deltas", plus(source, offset), back)
                new = self.update(old, f"vmul({a}, {dv})", plus(layer.w, offset), width)
                self.store("theta", plus(layer.w, offset), new)

            self.over_blocks(layer.fan_in, one)
            self._update_bias(layer)
            return
        # Plain SGD leaves the rows of inactive ReLUs alone: their gradient and
        # their delta are zero. The deltas start at zero and only active rows
        # are visited. (A stateful optimizer updates every row.)
        skip = self.plain and self.skips_inactive(previous)
        if skip:
            zero = self.c(0.0)
            self.over_blocks(
                previous.fan_out,
                lambda o, n: self.store("deltas", plus(source, o), self.splat(zero, n)),
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
            return self.update(old, gradient, plus("wrow", offset), width)

        def held_body():
            w(f"wrow = {layer.w} + i * {layer.fan_out}")
            w(f"ai = acts[{source} + i]")
            rows = []
            for start, width in chunks:
                rows.append(self.fresh("w"))
                w(f"{rows[-1]} = {self.load('theta', plus('wrow', start), width)}")
            dot = " + ".join(f"vsum(vmul({r}, {d}))" for r, d in zip(rows, dnames, strict=True))
            w(f"deltas[{source} + i] = {scale(dot)}")
            for (start, width), old, d in zip(chunks, rows, dnames, strict=True):
                self.store("theta", plus("wrow", start), row_update(old, d, start, width))

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
                w(f"{old} = {self.load('theta', plus('wrow', offset), width)}")
                w(f"{d} = {self.load('deltas', plus(layer.unit, offset), width)}")
                if width == big:
                    w(f"{acc} = vfma({old}, {d}, {acc})")
                else:
                    tails.append(self.fresh("tail"))
                    w(f"{tails[-1]} = vsum(vmul({old}, {d}))")
                self.store("theta", plus("wrow", offset), row_update(old, d, offset, width))

            self.over_blocks(layer.fan_out, one)
            dot = " + ".join([f"vsum({acc})", *tails])
            w(f"deltas[{source} + i] = {scale(dot)}")

        body = held_body if held else streamed_body
        if skip:
            self.over_nonzero("acts", [source], layer.fan_in, body)
        else:
            self.over_all(layer.fan_in, body)
        self._update_bias(layer, list(zip(chunks, dnames, strict=True)) if held else None)

    def _update_bias(self, layer, held=None):
        """Emit the update of ``layer``'s bias from its deltas (``held``: their vector names)."""
        w = self.w

        def one(offset, width, d=None):
            old = self.fresh("b")
            w(f"{old} = {self.load('theta', plus(layer.b, offset), width)}")
            if d is None:
                d = self.load("deltas", plus(layer.unit, offset), width)
            new = self.update(old, d, plus(layer.b, offset), width)
            self.store("theta", plus(layer.b, offset), new)

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
                x = self.load("XF", plus("xbase", offset), width)
                old = self.fresh("w")
                w(f"{old} = {self.load('theta', plus(layer.w, offset), width)}")
                gradient = f"vmul({x}, {self.splat('d', width)})"
                new = self.update(old, gradient, plus(layer.w, offset), width)
                self.store("theta", plus(layer.w, offset), new)

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
                    w(f"{old} = {self.load('theta', plus('wrow', start), width)}")
                    if self.plain:
                        new = f"vfma({self.splat('nlr * xi', width)}, {d}, {old})"
                    else:
                        gradient = f"vmul({self.splat('xi', width)}, {d})"
                        new = self.update(old, gradient, plus("wrow", start), width)
                    self.store("theta", plus("wrow", start), new)

            self.over_all(layer.fan_in, body)

        if self.streams(layer.fan_out, self.fused_tile):

            def one(offset, width):
                old = self.fresh("w")
                d = self.load("deltas", plus(layer.unit, offset), width)
                w(f"{old} = {self.load('theta', plus('wrow', offset), width)}")
                if self.plain:
                    new = f"vfma({self.splat('nlr * xi', width)}, {d}, {old})"
                else:
                    gradient = f"vmul({self.splat('xi', width)}, {d})"
                    new = self.update(old, gradient, plus("wrow", offset), width)
                self.store("theta", plus("wrow", offset), new)

            def rows():
                w(f"wrow = {layer.w} + i * {layer.fan_out}")
                w("xi = X[row, i]")
                self.over_blocks(layer.fan_out, one)

            self.over_all(layer.fan_in, rows)
        else:
            self.over_tiles(layer.fan_out, self.fused_tile, tile)
        self._update_bias(layer)

    def _load_deltas(self, layer, chunks):
        names = []
        for start, width in chunks:
            names.append(self.fresh("d"))
            self.w(f"{names[-1]} = {self.load('deltas', plus(layer.unit, start), width)}")
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
            sums = self.start_sums(layer, chunks)

            def body():
                w(f"wrow = {layer.w} + i * {layer.fan_out}")
                w("xi = X[row, i]")
                w("xn = X[nxt, i]")
                for (start, width), d, total in zip(chunks, dnames, sums, strict=True):
                    old = self.fresh("w")
                    w(f"{old} = {self.load('theta', plus('wrow', start), width)}")
                    if self.plain:
                        new = self.fresh("u")
                        w(f"{new} = vfma({self.splat('nlr * xi', width)}, {d}, {old})")
                    else:
                        gradient = f"vmul({self.splat('xi', width)}, {d})"
                        new = self.update(old, gradient, plus("wrow", start), width)
                    self.store("theta", plus("wrow", start), new)
                    w(f"{total} = vfma({self.splat('xn', width)}, {new}, {total})")

            if self.plain and layer.fan_in >= WIDE_INPUT:
                self.over_nonzero("XF", ["xbase", "nbase"], layer.fan_in, body)
            else:
                self.over_all(layer.fan_in, body)
            for (start, _), total in zip(chunks, sums, strict=True):
                self.store("acts", plus(layer.unit, start), total)

        if not self.streams(layer.fan_out, self.fused_tile):
            self.over_tiles(layer.fan_out, self.fused_tile, tile)
            return
        # Whole rows: the next sample's sums start from the updated bias, in acts.
        unit = layer.unit
        self.over_blocks(
            layer.fan_out,
            lambda o, n: self.store("acts", plus(unit, o), self.load("theta", plus(layer.b, o), n)),
        )

        def one(offset, width):
            old = self.fresh("w")
            w(f"{old} = {self.load('theta', plus('wrow', offset), width)}")
            d = self.load("deltas", plus(unit, offset), width)
            if self.plain:
                new = self.fresh("u")
                w(f"{new} = vfma({self.splat('nlr * xi', width)}, {d}, {old})")
            else:
                gradient = f"vmul({self.splat('xi', width)}, {d})"
                new = self.update(old, gradient, plus("wrow", offset), width)
            self.store("theta", plus("wrow", offset), new)
            total = self.load("acts", plus(unit, offset), width)
            self.store(
                "acts", plus(unit, offset), f"vfma({self.splat('xn', width)}, {new}, {total})"
            )

        def rows():
            w(f"wrow = {layer.w} + i * {layer.fan_out}")
            w("xi = X[row, i]")
            w("xn = X[nxt, i]")
            self.over_blocks(layer.fan_out, one)

        if self.plain and layer.fan_in >= WIDE_INPUT:
            self.over_nonzero("XF", ["xbase", "nbase"], layer.fan_in, rows)
        else:
            self.over_all(layer.fan_in, rows)
