"""Integer codes shared by the compiled kernels, the reference and the API.

Kernels take plain integers instead of strings so that a whole network is
described by one integer table (see ``layout`` in :mod:`fastnn.kernels.train`).
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

# Exponential output, Poisson deviance: only the sample-weighted kernels
# (kernels.weighted, scikit-learn's MLPRegressor(loss="poisson")) know it.
EXP_POISSON = 3

# Optimizers: one elementwise step each (kernels.optimizers).
SGD = 0
ADAGRAD = 1
RMSPROP = 2
ADADELTA = 3
ADAM = 4
# scikit-learn's SGD (velocity form: v = momentum*v - lr*g, then theta += v, or
# theta += momentum*v - lr*g with Nesterov) and Adam (lr_t = lr*sqrt(1-beta2**t) /
# (1-beta1**t), theta -= lr_t*m / (sqrt(v) + eps)): kernels.weighted only. They use
# the slots LR, SGD_MOMENTUM, SGD_NESTEROV and LR, ADAM_BETA1, ADAM_BETA2, ADAM_EPS.
SKLEARN_SGD = 5
SKLEARN_ADAM = 6

# An optimizer's hyper-parameters travel as one vector of HYPER_SIZE slots, in the
# parameters' dtype. Slots LR, WEIGHT_DECAY and STEP_DECAY mean the same for every
# optimizer; the others depend on it (a slot an optimizer does not use stays 0).
HYPER_SIZE = 8
LR = 0
WEIGHT_DECAY = 4  # L2: added to the gradient (g += wd * theta)
STEP_DECAY = 7  # per-step inverse-time decay of LR (kernels.optimizers.step_lr)
SGD_MOMENTUM = 1
SGD_DAMPENING = 2
SGD_NESTEROV = 3  # 0 or 1
ADAGRAD_LR_DECAY = 1
ADAGRAD_EPS = 2
RMSPROP_ALPHA = 1
RMSPROP_EPS = 2
RMSPROP_MOMENTUM = 3
RMSPROP_CENTERED = 5  # 0 or 1
ADADELTA_RHO = 1
ADADELTA_EPS = 2
ADAM_BETA1 = 1
ADAM_BETA2 = 2
ADAM_EPS = 3
ADAM_AMSGRAD = 5  # 0 or 1
ADAMW_DECAY = 6  # decoupled weight decay (theta *= 1 - lr * wd before the step)

# Optimizer state: STATE_ROWS vectors of the parameters' layout (rows an optimizer
# does not use stay 0): SGD [momentum_buffer]; AdaGrad [sum]; RMSProp [square_avg,
# grad_avg, momentum_buffer]; Adadelta [square_avg, acc_delta]; Adam [exp_avg,
# exp_avg_sq, max_exp_avg_sq].
STATE_ROWS = 3

# Columns of the layout table: one row per dense layer.
FAN_IN = 0
FAN_OUT = 1
W_OFFSET = 2
B_OFFSET = 3
ACTIVATION = 4
UNIT_OFFSET = 5  # where this layer's outputs start in the per-sample unit buffer
LAYOUT_COLUMNS = 6

# What the per-event kernels (kernels.streaming) report about one event: 0 when the row
# and its target were taken, else what was wrong with them (the caller names it).
EVENT_OK = 0
EVENT_ROW_WIDTH = 1  # the row has another number of values than the network's inputs
EVENT_ROW_NOT_FINITE = 2  # a value is NaN or inf, or beyond the network's dtype
EVENT_TARGET_WIDTH = 3  # the target vector has another length than the outputs
EVENT_LABEL_RANGE = 4  # a class label outside 0..outputs-1
EVENT_TARGET_NOT_FINITE = 5
EVENT_TARGET_RANGE = 6  # sigmoid: outside [0, 1]; softmax: negative or not summing to 1
EVENT_DIVERGED = 7  # the loss was not finite: the update was not applied
