"""The layer table of :meth:`fastnn.MLP.summary`, as Keras prints it."""

from __future__ import annotations

from fastnn.kernels import codes
from fastnn.network.state import NetworkState

__all__ = ["summary_table"]


def summary_table(network: NetworkState) -> str:
    """Return a table of the layers, their activations and parameter counts.

    Examples
    --------
    >>> MLP([64, 32, 10], seed=0).summary()  # doctest: +SKIP
    MLP: 64 inputs, 2 dense layers, float32, backend 'numba'
    layer    units  activation  weights      biases   parameters
    input       64
    dense 1     32  relu        W1 (64, 32)  b1 (32)       2,080
    dense 2     10  softmax     W2 (32, 10)  b2 (10)         330
    total parameters: 2,410 (9.4 KiB of float32)
    loss: cross-entropy of the softmax output
    """
    architecture = network.architecture
    loss_names = {
        codes.SOFTMAX_CE: "cross-entropy of the softmax output",
        codes.SIGMOID_BCE: "binary cross-entropy of the sigmoid output",
        codes.MSE: "mean squared error of the identity output",
    }
    rows: list[tuple[str, ...]] = [
        ("layer", "units", "activation", "weights", "biases", "parameters")
    ]
    rows.append(("input", f"{architecture.sizes[0]:,}", "", "", "", ""))
    activations = [*architecture.hidden, architecture.output]
    for layer, row in enumerate(architecture.layout, start=1):
        fan_in, fan_out = int(row[codes.FAN_IN]), int(row[codes.FAN_OUT])
        rows.append(
            (
                f"dense {layer}",
                f"{fan_out:,}",
                activations[layer - 1],
                f"W{layer} ({fan_in}, {fan_out})",
                f"b{layer} ({fan_out})",
                f"{(fan_in + 1) * fan_out:,}",
            )
        )
    if any(architecture.dropout):  # a column only for networks that drop units
        rates = [f"{rate:g}" if rate else "" for rate in architecture.dropout]
        rows = [(*rows[0], "dropout"), (*rows[1], "")] + [
            (*row, rate) for row, rate in zip(rows[2:], [*rates, ""], strict=True)
        ]
    widths = [max(len(row[column]) for row in rows) for column in range(len(rows[0]))]
    right = (1, 5)  # numbers line up on the right
    lines = [
        f"MLP: {architecture.sizes[0]} inputs, {len(architecture.layout)} dense layers, "
        f"{architecture.dtype.name}, backend {network.backend!r}"
    ]
    for row in rows:
        cells = [
            cell.rjust(width) if column in right else cell.ljust(width)
            for column, (cell, width) in enumerate(zip(row, widths, strict=True))
        ]
        lines.append("  ".join(cells).rstrip())
    n_params, dtype = architecture.n_params, architecture.dtype.name
    size = n_params * architecture.dtype.itemsize
    lines.append(f"total parameters: {n_params:,} ({size / 1024:,.1f} KiB of {dtype})")
    lines.append(f"loss: {loss_names[architecture.loss_code]}")
    if network.optimizer is not None:
        lines.append(f"optimizer of the last fit: {network.optimizer!r}")
    return "\n".join(lines)
