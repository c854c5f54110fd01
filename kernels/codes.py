"""Integer codes shared by the compiled kernels, the reference and the API.

Kernels take plain integers instead of strings so that a whole network is
described by one integer table (see ``layout`` in :mod:`kernels.train`).
"""

# Activations (hidden layers; SOFTMAX only at the output).
IDENTITY = 0
RELU = 1
SIGMOID = 2
TANH = 3
STEP = 4
LEAKY_RELU = 5
SOFTMAX = 6

LEAKY_RELU_SLOPE = 0.01

ACTIVATION_CODES = {
    "identity": IDENTITY,
    "relu": RELU,
    "sigmoid": SIGMOID,
    "tanh": TANH,
    "step": STEP,
    "leaky_relu": LEAKY_RELU,
}

# Output activation + loss pairs.
MSE = 0  # identity output, mean squared error
SOFTMAX_CE = 1  # softmax output, categorical cross-entropy
SIGMOID_BCE = 2  # sigmoid output, binary cross-entropy

OUTPUT_CODES = {"identity": MSE, "softmax": SOFTMAX_CE, "sigmoid": SIGMOID_BCE}

# Optimizers: one elementwise step each (hyper-parameter slots in kernels.optimizers).
SGD = 0
ADAGRAD = 1
RMSPROP = 2
ADADELTA = 3
ADAM = 4

# Columns of the layout table: one row per dense layer.
FAN_IN = 0
FAN_OUT = 1
W_OFFSET = 2
B_OFFSET = 3
ACTIVATION = 4
UNIT_OFFSET = 5  # where this layer's outputs start in the per-sample unit buffer
LAYOUT_COLUMNS = 6
