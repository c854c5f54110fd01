"""Forward pass of one unit and of a layer of several units: u = x @ W + b, z = f(u)."""

import numpy as np

from fastnn import functions

x = np.array([2.0, 3.0])  # one input with two features

# One unit: two weights and a bias.
w = np.array([0.1, 0.2])
b = 0.5
u = x @ w + b
print(
    "one unit:      u =", u, " relu(u) =", functions.relu(u), " sigmoid(u) =", functions.sigmoid(u)
)

# Three units: W holds one column per unit, shape (2 inputs, 3 units).
W = np.array([[0.1, 0.2, 0.3], [-0.4, 0.5, -0.6]])
b = np.array([0.1, 0.0, -0.1])
u = x @ W + b
print("three units:   u =", u)
print("               relu(u) =", functions.relu(u))
print(
    "               softmax(u) =", functions.softmax(u), "(sums to", functions.softmax(u).sum(), ")"
)
