"""The optimizer family on one task, from one seed: the course's comparison chart."""

from _common import size

from fastnn import compare_optimizers, datasets, plot
from fastnn.experiments import COURSE_OPTIMIZERS

(x_train, t_train), (x_test, t_test) = datasets.load_digits()
n = size(len(x_train), 300)
histories = compare_optimizers(
    x_train[:n],
    t_train[:n],
    [64, 50, 10],
    COURSE_OPTIMIZERS(),
    epochs=size(10, 2),
    batch_size=1,
    validation_data=(x_test, t_test),
)
for name, history in histories.items():
    print(f"{name:9s} loss {history.loss[-1]:.4f}  test accuracy {history.val_acc[-1]:.3f}")
plot.plot_comparison(histories, metric="loss", path="optimizers.png", title="optimizers")
print("wrote optimizers.png")
