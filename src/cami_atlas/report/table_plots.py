"""Plots of result tables, where a reader would rather look than read.

The job layer aggregates (:mod:`cami_atlas.pipeline.barriers`); these functions only draw
the tables they are handed, and return a :class:`matplotlib.figure.Figure` (no pyplot):

* :func:`stacked_bar_figure`  one horizontal bar per row, stacked by column (km of
  infrastructure by barrier class per species or per country);
* :func:`before_after_figure`  two bars per row (effective mesh size of each range
  without and with the barriers), log scale;
* :func:`count_bar_figure`  one bar per row (crossings per species);
* :func:`gain_curve_figure`  cumulative gain against the number of crossing structures;
* :func:`front_figure`  alternative alignments, length against impact.

:func:`save_png` writes a figure atomically.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from .._atomic import atomic_path
from ..errors import SchemaError

__all__ = ["before_after_figure", "count_bar_figure", "front_figure", "gain_curve_figure",
           "save_png", "stacked_bar_figure"]


def _check(table: pd.DataFrame, what: str) -> None:
    if not isinstance(table, pd.DataFrame) or table.empty:
        raise SchemaError(f"{what}: a non-empty table is needed to plot; got "
                          f"{type(table).__name__} with {len(table)} rows.")


def _figure(n_rows: int) -> tuple[Figure, object]:
    fig = Figure(figsize=(8.0, max(2.5, 0.32 * n_rows + 1.4)), constrained_layout=True)
    FigureCanvasAgg(fig)
    return fig, fig.add_subplot()


def stacked_bar_figure(table: pd.DataFrame, *, xlabel: str, title: str,
                       colors: Mapping[str, str] | None = None) -> Figure:
    """Horizontal bars, one per row of ``table``, stacked by its columns.

    Rows are drawn in table order from the top; a total is written at the end of each bar.

    Examples
    --------
    >>> t = pd.DataFrame({"complete barrier": [10.0, 2.0], "partial barrier": [5.0, 0.0]},
    ...                  index=["KAZ", "MNG"])
    >>> fig = stacked_bar_figure(t, xlabel="km", title="demo")
    >>> [float(p.get_width()) for p in fig.axes[0].patches]
    [10.0, 2.0, 5.0, 0.0]
    """
    _check(table, title)
    fig, ax = _figure(len(table))
    y = np.arange(len(table))[::-1]
    left = np.zeros(len(table))
    for col in table.columns:
        values = table[col].to_numpy(dtype=float)
        ax.barh(y, values, left=left, label=str(col),
                color=(colors or {}).get(str(col)), edgecolor="white", linewidth=0.4)
        left += values
    for yi, total in zip(y, left, strict=True):
        ax.text(total, yi, f" {total:,.0f}", va="center", fontsize=7)
    ax.set_yticks(y, [str(i).replace("_", " ") for i in table.index], fontsize=8)
    ax.set_xlabel(xlabel)
    ax.set_title(title)
    ax.set_xlim(0, max(left.max(), 1.0) * 1.15)
    ax.legend(fontsize=7, loc="lower right", frameon=False)
    return fig


def before_after_figure(before: pd.Series, after: pd.Series, *, xlabel: str, title: str,
                        labels: tuple[str, str] = ("before", "after")) -> Figure:
    """Two bars per label (``before`` and ``after``, aligned on their index), log scale.

    Examples
    --------
    >>> b = pd.Series([100.0, 50.0], index=["a", "b"])
    >>> fig = before_after_figure(b, b / 2, xlabel="km²", title="demo")
    >>> sorted(int(p.get_width()) for p in fig.axes[0].patches)
    [25, 50, 50, 100]
    """
    frame = pd.concat([before.rename("before"), after.rename("after")], axis=1)
    _check(frame, title)
    fig, ax = _figure(len(frame))
    y = np.arange(len(frame))[::-1]
    h = 0.38
    ax.barh(y + h / 2, frame["before"], height=h, color="#9ecae1", label=labels[0])
    ax.barh(y - h / 2, frame["after"], height=h, color="#de2d26", label=labels[1])
    ax.set_yticks(y, [str(i).replace("_", " ") for i in frame.index], fontsize=8)
    positive = frame.to_numpy(dtype=float)
    if (positive > 0).any():
        ax.set_xscale("log")
    ax.set_xlabel(xlabel)
    ax.set_title(title)
    ax.legend(fontsize=7, loc="lower right", frameon=False)
    return fig


def count_bar_figure(counts: pd.Series, *, xlabel: str, title: str) -> Figure:
    """One horizontal bar per entry of ``counts``, its value written at the end.

    Examples
    --------
    >>> fig = count_bar_figure(pd.Series([3, 1], index=["Saiga_tatarica", "Equus_hemionus"]),
    ...                        xlabel="crossings", title="demo")
    >>> [float(p.get_width()) for p in fig.axes[0].patches]
    [3.0, 1.0]
    """
    _check(counts.to_frame(), title)
    fig, ax = _figure(len(counts))
    y = np.arange(len(counts))[::-1]
    values = counts.to_numpy(dtype=float)
    ax.barh(y, values, color="#3182bd")
    for yi, v in zip(y, values, strict=True):
        ax.text(v, yi, f" {v:,.0f}", va="center", fontsize=7)
    ax.set_yticks(y, [str(i).replace("_", " ") for i in counts.index], fontsize=8)
    ax.set_xlim(0, max(values.max(), 1.0) * 1.15)
    ax.set_xlabel(xlabel)
    ax.set_title(title)
    return fig


def gain_curve_figure(curve: pd.DataFrame, *, unit: str, title: str, k_paying: int = 0,
                      share: float = 0.9) -> Figure:
    """``cumulative_gain`` against ``k`` (a line) and the gain of each k-th pick (bars);
    a dashed line at ``k_paying``, the smallest k reaching ``share`` of the total.

    Examples
    --------
    >>> c = pd.DataFrame({"k": [0, 1, 2], "cumulative_gain": [0.0, 3.0, 4.0]})
    >>> fig = gain_curve_figure(c, unit="1/ohm", title="demo", k_paying=2)
    >>> [float(p.get_height()) for p in fig.axes[0].patches]
    [3.0, 1.0]
    """
    _check(curve, title)
    fig = Figure(figsize=(7, 4), constrained_layout=True)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    ks = curve["k"].to_numpy()
    ax.plot(ks, curve["cumulative_gain"], marker="o", color="#08519c",
            label="cumulative gain")
    ax.bar(ks[1:], np.diff(curve["cumulative_gain"].to_numpy()), color="#9ecae1",
           label="gain of the k-th opening")
    if k_paying:
        ax.axvline(k_paying, color="#de2d26", linestyle="--",
                   label=f"{share:.0%} of the gain of all {int(ks[-1])}")
    ax.set_xlabel("number of openings k")
    ax.set_ylabel(f"gain ({unit})")
    ax.set_title(title)
    ax.legend(fontsize=8, frameon=False)
    return fig


def front_figure(alternatives: pd.DataFrame) -> Figure:
    """Alignments by ``length_km`` against ``impact``: the first row (the original) as a
    square, the others joined as the Pareto front, each labelled by ``name``.

    Examples
    --------
    >>> t = pd.DataFrame({"name": ["original", "alt_1"], "length_km": [10.0, 12.0],
    ...                   "impact": [5.0, 1.0]})
    >>> len(front_figure(t).axes[0].texts)
    2
    """
    _check(alternatives, "alternative alignments")
    fig = Figure(figsize=(6.5, 4.5), constrained_layout=True)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    front = alternatives.iloc[1:].sort_values("length_km")
    ax.plot(front["length_km"], front["impact"], "-o", color="#3182bd",
            label="alternatives (Pareto front)")
    ax.plot(alternatives["length_km"].iloc[:1], alternatives["impact"].iloc[:1], "s",
            color="#de2d26", markersize=9, label="original route")
    for row in alternatives.itertuples(index=False):
        ax.annotate(f" {row.name}", (row.length_km, row.impact), fontsize=8)
    ax.set_xlabel("length (km, geodesic)")
    ax.set_ylabel("impact (species-weighted km)")
    ax.set_title("Alternative alignments: length against impact")
    ax.legend(fontsize=8, frameon=False)
    return fig


def save_png(fig: Figure, path: str | os.PathLike[str], *, overwrite: bool = False,
             dpi: int = 110) -> Path:
    """Write ``fig`` as a PNG, atomically.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = save_png(Figure(figsize=(1, 1)), pathlib.Path(tempfile.mkdtemp()) / "f.png")
    >>> p.read_bytes()[1:4]
    b'PNG'
    """
    with atomic_path(path, overwrite=overwrite) as tmp:
        fig.savefig(tmp, format="png", dpi=dpi)
    return Path(path)
