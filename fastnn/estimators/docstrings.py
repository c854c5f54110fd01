"""The parts of MLPClassifier's and MLPRegressor's docstrings that both share.

scikit-learn documents every parameter in each class; the two estimators take the same
parameters and set most of the same attributes, so their docstrings are built from these
fragments instead of two copies that would drift apart.
"""

__all__ = ["SHARED_ATTRIBUTES", "SHARED_PARAMETERS"]

SHARED_PARAMETERS = """
    hidden_layer_sizes : int or array-like of int, default (100,)
        The width of each hidden layer; ``()`` for none.
    activation : {"identity", "logistic", "tanh", "relu"}, default "relu"
        The hidden layers' activation.
    solver : {"adam", "sgd", "lbfgs", "adagrad", "rmsprop", "adadelta", "adamw"}, default "adam"
        "adam" and "sgd" are scikit-learn's stochastic optimizers (its formulas),
        "lbfgs" is scipy's L-BFGS-B on the full-batch loss. fastnn adds
        "adagrad", "rmsprop", "adadelta" and "adamw", stochastic too, with the
        formulas and defaults of ``torch.optim`` (:mod:`fastnn.optimizers`) and
        ``learning_rate_init`` as their learning rate ("adamw" also takes
        ``beta_1``, ``beta_2`` and ``epsilon``, and decays every parameter by its
        own ``weight_decay=0.01`` on top of ``alpha``).
    alpha : float, default 1e-4
        Strength of the L2 penalty ``0.5 * alpha * sum(W**2)`` on the weight
        matrices (not the biases), divided, as the loss, by the batch's sample
        count (or its sum of sample weights).
    batch_size : int or "auto", default "auto"
        Rows per step of the stochastic solvers; "auto" is ``min(200, n_samples)``.
        1 trains one row at a time in one compiled loop per epoch.
    learning_rate : {"constant", "invscaling", "adaptive"}, default "constant"
        The schedule of solver "sgd": constant; ``learning_rate_init / (t + 1)**power_t``
        after each epoch (``t`` the samples seen); or divided by 5 each time
        ``n_iter_no_change`` epochs pass without improvement by ``tol``.
    learning_rate_init : float, default 1e-3
    power_t : float, default 0.5
    max_iter : int, default 200
        Epochs of the stochastic solvers; iterations of "lbfgs".
    shuffle : bool, default True
        Visit the rows in a new random order each epoch.
    random_state : int, numpy.random.RandomState or None, default None
        Seeds the initial weights, the shuffles and the validation split: the
        same draws as scikit-learn's MLP makes, so the same ``random_state`` starts
        from the same weights.
    tol : float, default 1e-4
        Training stops when the loss (or the validation score, with early
        stopping) has not improved by ``tol`` for ``n_iter_no_change`` epochs;
        for "lbfgs" it is the gradient tolerance (``gtol``).
    verbose : bool or int, default False
        Print the loss of each epoch.
    warm_start : bool, default False
        ``fit`` continues from the current weights instead of starting anew.
    momentum : float, default 0.9
        Momentum of solver "sgd", in [0, 1].
    nesterovs_momentum : bool, default True
    early_stopping : bool, default False
        Hold out ``validation_fraction`` of the rows (stratified for a binary
        target), stop when their score has not improved by ``tol`` for
        ``n_iter_no_change`` epochs, and keep the weights of the best score.
    validation_fraction : float, default 0.1
    beta_1, beta_2 : float, default 0.9, 0.999
        Adam's decay rates, in [0, 1).
    epsilon : float, default 1e-8
        Adam's ``epsilon``.
    n_iter_no_change : int or inf, default 10
    max_fun : int, default 15000
        "lbfgs" only: the most loss evaluations.
    dtype : {None, "float32", "float64"}, default None
        fastnn's: the dtype of the weights and of all arithmetic. None follows
        scikit-learn: float32 for float32 X, float64 otherwise.
    backend : {"numba", "numpy"}, default "numba"
        fastnn's: "numpy" trains on the plain NumPy twins of the kernels
        (:mod:`fastnn.kernels.reference`), slowly: a reference to check against."""

SHARED_ATTRIBUTES = """
    loss_ : float
        The loss (penalty included) of the last epoch, or of the "lbfgs" solution.
    best_loss_ : float or None
        The lowest ``loss_`` so far (None with early stopping). Stochastic solvers.
    loss_curve_ : list of float
        ``loss_`` of every epoch, across warm starts and ``partial_fit`` calls.
    validation_scores_ : list of float or None
        The validation score of every epoch with early stopping, else None.
    best_validation_score_ : float or None
    t_ : int
        Training samples seen by the stochastic solver.
    coefs_ : list of ndarray
        ``coefs_[k]`` is the weight matrix of layer ``k``, shape (fan_in, fan_out).
    intercepts_ : list of ndarray
        ``intercepts_[k]`` is the bias vector of layer ``k``.
    n_features_in_ : int
    feature_names_in_ : ndarray of str
        The column names of a data frame ``X`` whose names are all strings.
    n_iter_ : int
        Epochs (or "lbfgs" iterations) of the last ``fit``.
    n_layers_ : int
        Layers, the input layer included.
    n_outputs_ : int
    out_activation_ : str
    net_ : fastnn.MLP
        fastnn's: the network; ``coefs_`` and ``intercepts_`` are views of its
        parameters, so it can be saved, summarised or exported to ONNX."""
