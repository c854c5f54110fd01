"""Per-sample SGD against mini-batch and full-batch descent on the same network."""

from _common import size

from fastnn import MLP, datasets, optimizers, plot

n = size(10_000, 1_000)
X, y = datasets.make_regression(n, seed=0)
epochs = size(20, 3)
histories = {}
for name, batch_size in [("per-sample SGD", 1), ("mini-batch 32", 32), ("full batch", None)]:
    net = MLP([2, 10, 1], hidden="relu", output="identity", dtype="float64", seed=0)
    histories[name] = net.fit(
        X, y, optimizer=optimizers.SGD(lr=0.05), epochs=epochs, batch_size=batch_size
    )
    print(f"{name:15s} final loss {histories[name].loss[-1]:.2e}")
# Every run trains the same network (net is the last of them) from the same seed.
trained = plot.describe_training(net, optimizers.SGD(lr=0.05), data=f"y = 3x0 + 2x1, {n:,} samples")
plot.plot_comparison(
    histories,
    metric="loss",
    path="sgd_vs_minibatch.png",
    log=True,
    title=f"training loss per epoch, by batch size\n{trained}",
)
print("wrote sgd_vs_minibatch.png")
