"""Numerical gradient against backpropagation, and gradient descent on a function."""

import numpy as np

from fastnn import MLP, functions, plot

rng = np.random.default_rng(0)
X = rng.standard_normal((10, 4))
labels = rng.integers(0, 3, 10)
net = MLP([4, 5, 3], hidden="sigmoid", output="softmax", dtype="float64", seed=0)
backprop = net.gradient(X, labels)
numerical = net.numerical_gradient(X, labels)
for name in backprop:
    difference = np.abs(backprop[name] - numerical[name]).mean()
    print(f"{name}: mean |backprop - numerical| = {difference:.2e}")


def function_2(x):
    return (x[0] - 1) ** 2 + (x[1] - 2) ** 2


x, history = functions.gradient_descent(function_2, np.array([0.0, 0.0]), lr=0.1, step_num=100)
print("gradient descent on (x0 - 1)^2 + (x1 - 2)^2 from (0, 0):", x)
# Equal scales on both axes, the minimum starred, a colour bar for f.
plot.plot_gradient_descent(
    function_2,
    history,
    path="gradient_descent.png",
    title="gradient descent on (x0 - 1)² + (x1 - 2)²\nlr=0.1, 100 steps from (0, 0)",
)
print("wrote gradient_descent.png")
