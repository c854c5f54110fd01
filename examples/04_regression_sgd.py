"""The course's regression y = 3*x0 + 2*x1, trained per sample, with its loss chart."""

import numpy as np
from _common import size

from fastnn import MLP, datasets, optimizers, plot

n = size(100_000, 5_000)
X, y = datasets.make_regression(n, seed=0)
net = MLP([2, 10, 1], hidden="relu", output="identity", dtype="float64", seed=0)
sgd = optimizers.SGD(lr=0.07)
history = net.fit(X, y, optimizer=sgd, epochs=1, batch_size=1)
X_test, y_test = datasets.make_regression(1000, seed=1)
print(
    f"{n:,} per-sample steps; mean squared error on fresh data:",
    np.mean((net.predict(X_test)[:, 0] - y_test) ** 2),
)
print("learned weights of the first layer:\n", net.params["W1"])
trained = plot.describe_training(net, sgd, batch_size=1, data=f"y = 3x0 + 2x1, {n:,} samples")
# Each dot is one sample's loss; the line, their running mean, is the trend.
plot.plot_step_loss(
    history, path="regression_loss.png", log=True, title=f"loss of each step\n{trained}"
)
print("wrote regression_loss.png")
