"""The course's 3-layer forward pass, with fastnn's network and the course's dict."""

import numpy as np

from fastnn import MLP, functions

# As in the course: a dict of weights and a forward function written out.
network = {
    "W1": np.array([[0.1, 0.3, 0.5], [0.2, 0.4, 0.6]]),
    "b1": np.array([0.1, 0.2, 0.3]),
    "W2": np.array([[0.1, 0.4], [0.2, 0.5], [0.3, 0.6]]),
    "b2": np.array([0.1, 0.2]),
    "W3": np.array([[0.1, 0.3], [0.2, 0.4]]),
    "b3": np.array([0.1, 0.2]),
}


def forward(network, x):
    z1 = functions.relu(x @ network["W1"] + network["b1"])
    z2 = functions.relu(z1 @ network["W2"] + network["b2"])
    return z2 @ network["W3"] + network["b3"]


x = np.array([1.0, 2.0])
print("by hand:       ", forward(network, x))

# The same network in fastnn: params are views into one flat vector.
net = MLP([2, 3, 2, 2], hidden="relu", output="identity", dtype="float64")
for name, value in network.items():
    net.params[name][...] = value
print("fastnn predict:", net.predict(x))
assert np.allclose(net.predict(x), forward(network, x))
