"""The course's MNIST network (784-40-10 ReLU, per-sample SGD) with its accuracy chart.

Uses MNIST when its IDX files are found (argument, $FASTNN_DATA, ~/.fastnn/data),
else Fashion-MNIST (Debian's dataset-fashion-mnist), else the 8x8 digits.
"""

from _common import size

from fastnn import MLP, datasets, optimizers, plot


def load():
    for name, loader in (
        ("MNIST", datasets.load_mnist),
        ("Fashion-MNIST", datasets.load_fashion_mnist),
    ):
        try:
            return name, loader()
        except FileNotFoundError:
            continue
    return "8x8 digits", datasets.load_digits()


name, ((x_train, t_train), (x_test, t_test)) = load()
n = size(len(x_train), 2_000)
x_train, t_train = x_train[:n], t_train[:n]
net = MLP([x_train.shape[1], 40, 10], hidden="relu", output="softmax", seed=0)
sgd = optimizers.SGD(lr=0.01)
history = net.fit(
    x_train,
    t_train,
    optimizer=sgd,
    epochs=size(5, 2),
    batch_size=1,
    validation_data=(x_test, t_test),
)
print(f"{name}: test accuracy per epoch", [round(a, 4) for a in history.val_acc])
trained = plot.describe_training(net, sgd, batch_size=1, data=f"{name}, {n:,} training rows")
# validation_data is the test set, and the legend says so.
plot.plot_accuracy(
    history,
    path="mnist_accuracy.png",
    title=f"accuracy per epoch\n{trained}",
    validation_label="test",
)
print("wrote mnist_accuracy.png")
