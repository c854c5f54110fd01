"""The optimizer family on one task, from one seed: the course's comparison chart."""

from _common import size

from fastnn import MLP, compare_optimizers, datasets, optimizers, plot
from fastnn.experiments import COURSE_OPTIMIZERS

(x_train, t_train), (x_test, t_test) = datasets.load_digits()
n = size(len(x_train), 300)
# The whole family with the course's settings, AdamW (Adam with decoupled weight decay) too.
family = COURSE_OPTIMIZERS()
family.setdefault("AdamW", optimizers.AdamW(lr=0.001))
sizes = [64, 50, 10]
histories = compare_optimizers(
    x_train[:n],
    t_train[:n],
    sizes,
    family,
    epochs=size(10, 2),
    batch_size=1,
    validation_data=(x_test, t_test),
)
for name, history in histories.items():
    print(f"{name:9s} loss {history.loss[-1]:.4f}  test accuracy {history.val_acc[-1]:.3f}")
network = plot.describe_training(MLP(sizes), batch_size=1, data=f"8x8 digits, {n:,} rows")
plot.plot_comparison(
    histories,
    metric="loss",
    path="optimizers.png",
    title=f"training loss per epoch, each optimizer from the same start\n{network}",
)
print("wrote optimizers.png")
