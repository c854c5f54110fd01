"""The PyTorch peer: ``torch.nn.Sequential`` of Linear+ReLU layers and ``torch.optim``.

A plain loop over row (or batch) slices of tensors converted once:
``loss.backward(); optimizer.step()``, with fastnn's loss conventions
(``F.cross_entropy``, the batch mean; ``0.5 * ((y - t)**2).sum() / batch``).
"""

import numpy as np

from peers import initial_network, initial_params


def model(sizes, params, dtype):
    """``nn.Sequential`` of Linear+ReLU layers holding fastnn's weights (W transposed)."""
    import torch

    layers = []
    for layer in range(1, len(sizes)):
        linear = torch.nn.Linear(sizes[layer - 1], sizes[layer], dtype=getattr(torch, dtype))
        with torch.no_grad():
            # torch stores (fan_out, fan_in) and computes x @ weight.T + bias.
            linear.weight.copy_(torch.from_numpy(np.ascontiguousarray(params[f"W{layer}"].T)))
            linear.bias.copy_(torch.from_numpy(params[f"b{layer}"].copy()))
        layers.append(linear)
        if layer < len(sizes) - 1:
            layers.append(torch.nn.ReLU())
    return torch.nn.Sequential(*layers)


def optimizer(network, name, lr):
    """``torch.optim.SGD`` or ``torch.optim.Adam`` (torch's defaults) over ``network``."""
    import torch

    if name == "sgd":
        return torch.optim.SGD(network.parameters(), lr=lr)
    return torch.optim.Adam(network.parameters(), lr=lr)


def trainer(case, X, T):
    """``train(n)``: one pass of PyTorch over the first n rows, ``case.batch`` at a time."""
    import torch
    import torch.nn.functional as F  # noqa: N812 (the PyTorch convention)

    network = model(case.sizes, initial_params(case), case.dtype)
    step = optimizer(network, case.optimizer, case.lr)
    X_t = torch.from_numpy(np.ascontiguousarray(X))
    if case.output == "softmax":
        T_t = torch.from_numpy(np.asarray(T, dtype=np.int64))

        def loss_of(y, t):
            return F.cross_entropy(y, t)  # mean over the batch, as fastnn
    else:
        T_t = torch.from_numpy(np.ascontiguousarray(T).reshape(-1, 1))

        def loss_of(y, t):
            return 0.5 * ((y - t) ** 2).sum() / t.shape[0]  # fastnn's MSE convention

    batch = case.batch

    def train(n):
        for start in range(0, n, batch):
            loss = loss_of(network(X_t[start : start + batch]), T_t[start : start + batch])
            step.zero_grad()
            loss.backward()
            step.step()

    return train


class Learner:
    """A softmax classifier trained chunk by chunk, for time to accuracy."""

    def __init__(self, sizes, dtype, optimizer_name, lr, batch):
        params = initial_network(sizes, "softmax", dtype).params
        self.model = model(sizes, params, dtype)
        self.optimizer = optimizer(self.model, optimizer_name, lr)
        self.batch = batch

    def train(self, X, y):
        import torch
        import torch.nn.functional as F  # noqa: N812 (the PyTorch convention)

        X_t, y_t = torch.from_numpy(X), torch.from_numpy(y)
        for start in range(0, len(X), self.batch):
            stop = start + self.batch
            loss = F.cross_entropy(self.model(X_t[start:stop]), y_t[start:stop])
            self.optimizer.zero_grad()
            loss.backward()
            self.optimizer.step()

    def accuracy(self, X, y):
        import torch

        with torch.no_grad():
            predicted = self.model(torch.from_numpy(X)).argmax(dim=1).numpy()
        return float(np.mean(predicted == y))
