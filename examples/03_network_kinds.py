"""Multi-class, regression and binary networks: outputs and losses side by side."""

import numpy as np

from fastnn import MLP, functions

rng = np.random.default_rng(0)
X = rng.standard_normal((4, 3))

multiclass = MLP([3, 5, 4], hidden="relu", output="softmax", dtype="float64", seed=0)
labels = np.array([0, 3, 1, 2])
y = multiclass.predict(X)
print("multi-class: softmax rows sum to", y.sum(axis=1))
print("  cross-entropy (course, with +1e-7):", functions.cross_entropy_error(labels, y))
print("  fastnn loss (from logits):         ", multiclass.loss(X, labels))

regression = MLP([3, 5, 1], hidden="relu", output="identity", dtype="float64", seed=0)
targets = X.sum(axis=1)
y = regression.predict(X)[:, 0]
print("regression: outputs", y)
print(
    "  mean squared error (course):",
    functions.mean_squared_error(targets, y),
    " fastnn loss:",
    regression.loss(X, targets),
)

binary = MLP([3, 5, 1], hidden="tanh", output="sigmoid", dtype="float64", seed=0)
classes = np.array([0, 1, 1, 0])
print(
    "binary: probabilities",
    binary.predict(X)[:, 0],
    " loss",
    binary.loss(X, classes),
    " accuracy",
    binary.accuracy(X, classes),
)
