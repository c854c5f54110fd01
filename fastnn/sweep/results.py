"""What a sweep returns: one result per configuration, with tables and charts."""

from __future__ import annotations

import csv
import html
import importlib
import io
import numbers
import os
import re
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Any, overload

import numpy as np

from fastnn import optimizers as optimizers_module
from fastnn.errors import TrainingDivergedError
from fastnn.io.atomic import atomic_write
from fastnn.model import MLP
from fastnn.network.state import NetworkState
from fastnn.sweep.plan import METRICS, Divergence, Outcome, Trial, expand_state
from fastnn.training.advice import at_chance
from fastnn.training.history import History

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure, SubFigure

__all__ = ["SweepResult", "SweepResults"]


class SweepResult:
    """One configuration's outcome.

    Attributes
    ----------
    index : int
        Its position in ``configs``.
    config : dict
        The configuration as given (after grid expansion).
    name : str
        A label: ``config["name"]``, else the keys in which configurations differ.
    history : History
        Per-epoch metrics of the completed epochs (as ``fit`` returns).
    status : {"ok", "diverged"}
    diverged_epoch : int or None
        The epoch in which training diverged.
    message : str or None
        What went non-finite, as ``TrainingDivergedError`` says it.
    seconds : float
        This configuration's share of the training time: its own bookkeeping and
        validation passes, plus, for each epoch, the wall time of the kernel call
        that trained it divided by the number of networks that call trained.
        The shares of all configurations add up to the sweep's training time
        (without the checks before it).
    """

    def __init__(
        self,
        index: int,
        config: dict[str, Any],
        name: str,
        history: History,
        network: NetworkState,
        diverged: Divergence | None,
        seconds: float,
        batch_size: int,
        epochs: int,
        kept_state: Any = None,
    ) -> None:
        self.index = index
        self.config = config
        self.name = name
        self.history = history
        self._network = network
        self._diverged = diverged
        self.status = "diverged" if diverged is not None else "ok"
        self.diverged_epoch = None if diverged is None else diverged[0]
        self.message = None if diverged is None else diverged[3]
        self.seconds = seconds
        self.batch_size = batch_size
        self.epochs = epochs
        # The optimizer's state, as its non-zero rows, until the network is asked for.
        self._kept_state = kept_state

    @classmethod
    def of(cls, index: int, config: dict[str, Any], outcome: Outcome, trial: Trial) -> SweepResult:
        """The result of ``configs[index]``, from what its training sent back."""
        return cls(
            index,
            config,
            config.get("name", f"config {index}"),
            outcome.history,
            outcome.network,
            outcome.diverged,
            outcome.seconds,
            outcome_batch_size(trial),
            trial.epochs,
            outcome.kept_state,
        )

    @property
    def at_chance(self) -> bool:
        """bool: a classifier that ended no better than guessing (unscaled inputs?)."""
        steps = self.history.epoch_steps[-1] if self.history.epoch_steps else 0
        rows = steps * self.batch_size  # the last batch may be short: close enough
        return at_chance(self.history, self._network.architecture, rows)

    @property
    def epochs_done(self) -> int:
        """int: the epochs completed (all of them unless it diverged)."""
        return len(self.history.loss)

    def _last(self, values: list[float]) -> float:
        return float(values[-1]) if values else float("nan")

    @property
    def loss(self) -> float:
        """float: the training loss of the last completed epoch (NaN if none)."""
        return self._last(self.history.loss)

    @property
    def train_acc(self) -> float:
        """float: the training accuracy of the last completed epoch (NaN if none)."""
        return self._last(self.history.train_acc)

    @property
    def val_loss(self) -> float:
        """float: the validation loss after the last completed epoch (NaN if none)."""
        return self._last(self.history.val_loss)

    @property
    def val_acc(self) -> float:
        """float: the validation accuracy after the last completed epoch (NaN if none)."""
        return self._last(self.history.val_acc)

    @property
    def error(self) -> TrainingDivergedError | None:
        """TrainingDivergedError or None: what ``fit`` would have raised."""
        if self._diverged is None:
            return None
        epoch, step, loss, message = self._diverged
        return TrainingDivergedError(message, epoch=epoch, step=step, loss=loss)

    def model(self) -> MLP:
        """Return the trained :class:`MLP` (its ``optimizer_`` holds the final state).

        After a divergence: the network at the end of its last complete epoch.
        Every call returns the same network (not a copy).
        """
        if self._network.optimizer is not None:
            expand_state(self._network.optimizer, self._kept_state)
        self._kept_state = None
        return MLP.from_state(self._network)

    def __repr__(self) -> str:
        state = "ok" if self._diverged is None else f"diverged in epoch {self.diverged_epoch}"
        return f"SweepResult({self.name!r}, {state}, loss={self.loss:.4g})"


class SweepResults:
    """The outcomes of :func:`sweep`, in the order of the configurations.

    A sequence of :class:`SweepResult` (``len``, indexing, iteration).

    Attributes
    ----------
    seconds : float
        Wall time of the whole sweep (checks, scatter and gathering included).
    n_groups : int
        How many groups of networks trained together (one kernel call per epoch each).
    """

    def __init__(self, results: Iterable[SweepResult], seconds: float, n_groups: int) -> None:
        self._results = list(results)
        self.seconds = seconds
        self.n_groups = n_groups
        self._label()

    def _label(self):
        """Name unnamed results by the keys in which the configurations differ."""
        configs = [result.config for result in self._results]
        keys = list(dict.fromkeys(key for config in configs for key in config if key != "name"))
        varying = [
            key for key in keys if len({_shown(config.get(key, "")) for config in configs}) > 1
        ]
        seen = {}
        for result in self._results:
            if "name" not in result.config and varying:
                result.name = ", ".join(
                    f"{key}={_shown(result.config[key])}" for key in varying if key in result.config
                )
            if result.name in seen:
                result.name = f"{result.name} #{result.index}"
            seen[result.name] = True

    def __len__(self) -> int:
        return len(self._results)

    @overload
    def __getitem__(self, index: int) -> SweepResult: ...

    @overload
    def __getitem__(self, index: slice) -> list[SweepResult]: ...

    def __getitem__(self, index: int | slice) -> SweepResult | list[SweepResult]:
        return self._results[index]

    def __iter__(self) -> Iterator[SweepResult]:
        return iter(self._results)

    def __repr__(self) -> str:
        diverged = sum(result.status == "diverged" for result in self._results)
        return (
            f"SweepResults({len(self)} configurations, {diverged} diverged, "
            f"{self.n_groups} groups, {self.seconds:.2f} s)"
        )

    def best(self, metric: str) -> SweepResult:
        """Return the result with the best final ``metric`` among those that finished.

        Parameters
        ----------
        metric : {"loss", "val_loss", "train_acc", "val_acc"}
            Accuracies are maximised, losses minimised.

        Raises
        ------
        ValueError
            For an unknown metric, or when no finished configuration has it.
        """
        if metric not in METRICS:
            raise ValueError(f"metric must be one of {sorted(METRICS)}, got {metric!r}")
        candidates = [
            result
            for result in self._results
            if result.status == "ok" and np.isfinite(getattr(result, metric))
        ]
        if not candidates:
            raise ValueError(
                f"no configuration finished with a {metric} (diverged, no validation_data, "
                "or no accuracy for a regression)"
            )
        sign = -1.0 if METRICS[metric] else 1.0
        return min(candidates, key=lambda result: sign * getattr(result, metric))

    def histories(self) -> dict[str, History]:
        """Return ``{name: History}`` of the results with at least one epoch."""
        return {result.name: result.history for result in self._results if result.history.loss}

    def to_rows(self) -> list[dict[str, Any]]:
        """Return one dict per configuration: its keys, final metrics, time and status.

        Columns: ``config`` (the index), ``name``, every configuration key used by any
        configuration, ``epochs`` (completed), ``loss``, ``train_acc``, ``val_loss``,
        ``val_acc`` (NaN where there is none), ``seconds`` and ``status`` ("ok", "ok, at
        chance" for a classifier no better than guessing, or
        "diverged in epoch N").
        """
        keys = list(
            dict.fromkeys(key for result in self._results for key in result.config if key != "name")
        )
        rows = []
        for result in self._results:
            row = {"config": result.index, "name": result.name}
            for key in keys:
                row[key] = _shown(result.config[key]) if key in result.config else ""
            row.update(
                epochs=result.epochs_done,
                loss=result.loss,
                train_acc=result.train_acc,
                val_loss=result.val_loss,
                val_acc=result.val_acc,
                seconds=round(result.seconds, 3),
                status=_status(result),
            )
            rows.append(row)
        return rows

    def to_dataframe(self) -> Any:
        """Return the table of :meth:`to_rows` as a ``pandas.DataFrame``, one row per configuration.

        Needs pandas (imported only here). Configuration values are shown as in the
        other tables (``sizes`` as ``"784-40-10"``); metrics are floats, NaN where
        there is none.

        Raises
        ------
        ImportError
            If pandas is not installed.
        """
        try:
            pandas = importlib.import_module("pandas")
        except ImportError:
            raise ImportError("to_dataframe needs pandas: pip install pandas") from None
        return pandas.DataFrame(self.to_rows())

    def to_csv(self, path: str | bytes | os.PathLike[str] | None = None) -> str:
        """Return the table of :meth:`to_rows` as CSV text; write it (atomically) to ``path``.

        A text cell that a spreadsheet would run as a formula (one starting with
        ``=``, ``+``, ``-``, ``@``, a tab or a carriage return, and not a plain
        number) is written with a leading ``'``, as OWASP advises against CSV
        injection: a configuration named ``=HYPERLINK(...)`` shows as text.
        """
        rows = self.to_rows()
        stream = io.StringIO()
        writer = csv.DictWriter(stream, fieldnames=list(rows[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows({key: _csv_cell(value) for key, value in row.items()} for row in rows)
        return _write(stream.getvalue(), path)

    def to_markdown(self, path: str | bytes | os.PathLike[str] | None = None) -> str:
        """Return the table of :meth:`to_rows` as Markdown; write it (atomically) to ``path``.

        Cells are escaped so that any name keeps the table whole: ``|`` as ``\\|``,
        line breaks as ``<br>``, and ``&``, ``<``, ``>`` as HTML entities (a name is
        shown as text, never run as HTML where the Markdown is rendered).
        """
        rows = self.to_rows()
        columns = list(rows[0])
        lines = [
            "| " + " | ".join(columns) + " |",
            "|" + "|".join("---" for _ in columns) + "|",
        ]
        for row in rows:
            lines.append("| " + " | ".join(_cell(row[column]) for column in columns) + " |")
        return _write("\n".join(lines) + "\n", path)

    def plot(
        self,
        metric: str = "loss",
        path: str | os.PathLike[str] | None = None,
        *,
        title: str | None = None,
        ax: Axes | None = None,
        log: bool = False,
        validation_label: str = "validation",
        highlight: SweepResult | str | None = None,
    ) -> Figure | SubFigure:
        """Draw one metric of every configuration per epoch (:func:`fastnn.plot.plot_comparison`).

        Configurations without a completed epoch are left out. ``validation_label``
        names the validation data (say "test") in the axis label. ``highlight`` (a
        result, or its name: ``results.best("val_acc")``) is drawn thicker and
        labelled "(selected)".

        Raises
        ------
        ValueError
            When no configuration completed an epoch (every one diverged in its
            first), or for a bad metric.

        Returns
        -------
        matplotlib.figure.Figure
        """
        from fastnn import plot

        if not self.histories():
            raise ValueError(
                f"nothing to plot: every configuration ({len(self)}) diverged in its first "
                "epoch, so none has a completed epoch (see each result's message; try "
                "smaller learning rates)"
            )
        return plot.plot_comparison(
            self.histories(),
            metric=metric,
            path=path,
            title=title,
            ax=ax,
            log=log,
            validation_label=validation_label,
            highlight=highlight.name if isinstance(highlight, SweepResult) else highlight,
        )


def outcome_batch_size(trial: Trial) -> int:
    """The batch size a trial trained with (plan() resolves a full batch to the row count)."""
    if trial.batch_size is None:
        raise ValueError("a trial's batch size is resolved when the sweep is planned")
    return trial.batch_size


def _status(result: SweepResult) -> str:
    if result.status != "ok":
        return f"diverged in epoch {result.diverged_epoch}"
    return "ok, at chance" if result.at_chance else "ok"


def _shown(value):
    """A configuration value as a table shows it."""
    if isinstance(value, optimizers_module.Optimizer):
        return repr(value)
    if isinstance(value, (list, tuple)) and all(isinstance(v, numbers.Integral) for v in value):
        return "-".join(str(v) for v in value)
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def _cell(value):
    """A Markdown table cell: one line, no column break, no HTML."""
    if isinstance(value, float):
        return "" if np.isnan(value) else f"{value:.4f}"
    text = html.escape(str(value), quote=False).replace("|", "\\|")
    return "<br>".join(text.splitlines()) if text else text


# What spreadsheets read as the start of a formula (OWASP's list for CSV injection).
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?|[+-]?(inf|nan)")


def _csv_cell(value):
    """A CSV cell that no spreadsheet runs as a formula."""
    if isinstance(value, str) and value.startswith(_FORMULA_STARTS):
        if not _PLAIN_NUMBER.fullmatch(value):
            return "'" + value
    return value


def _write(text, path):
    if path is not None:
        with atomic_write(path) as stream:
            stream.write(text.encode())
    return text
