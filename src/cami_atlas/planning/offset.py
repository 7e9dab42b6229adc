"""Offset: the residual loss per species after mitigation, in the units of the analysis.

The mitigation hierarchy ends with offsetting what avoidance, minimisation and mitigation
could not prevent. :func:`residual_loss` reads the scenario table of
:func:`cami_atlas.planning.scenario_impact` (run with ``mitigation=``, the crossing points of a
placement) and states, per scenario, species and metric, the loss left to offset.
"""

from __future__ import annotations

import pandas as pd

from cami_atlas.errors import MissingColumnError
from cami_atlas.planning.scenarios import HIGHER_IS_BETTER

__all__ = ["UNITS", "residual_loss"]

#: Unit of each metric of the scenario table.
UNITS: dict[str, str] = {
    "m_eff_km2": "km²",
    "ECA": "km² (unit of core area)",
    "effective_conductance": "1 / cell resistance",
    "corridor_crossings": "crossings",
    "track_crossings": "crossing events",
    "omniscape_current": "A per cell (mean cumulative current over the range)",
}


def _unit(metric: str) -> str:
    return "km" if metric.startswith("km_in_range") else UNITS.get(metric, "")


def residual_loss(table: pd.DataFrame) -> pd.DataFrame:
    """Loss left after mitigation, per scenario, species and metric, to size an offset.

    Parameters
    ----------
    table : DataFrame
        From :func:`cami_atlas.planning.scenario_impact` with ``mitigation=`` (columns
        ``with_mitigation`` and ``residual_change``). Without mitigation pass the table with
        ``residual_change`` = ``change``.

    Returns
    -------
    DataFrame
        ``scenario, species, metric, unit, loss, mitigated, residual_loss, share_mitigated``:
        ``loss`` is the loss of the scenario (positive = worse: a fall of a
        higher-is-better metric, a rise of km or crossings), ``residual_loss`` the loss left
        after mitigation (the amount to offset), ``share_mitigated`` = 1 - residual / loss.

    Examples
    --------
    >>> t = pd.DataFrame({"scenario": ["A"], "species": ["Saiga_tatarica"],
    ...                   "metric": ["m_eff_km2"], "change": [-4200.0],
    ...                   "residual_change": [-1000.0]})
    >>> residual_loss(t)[["loss", "residual_loss", "share_mitigated"]].round(3).values.tolist()
    [[4200.0, 1000.0, 0.762]]
    """
    for col in ("scenario", "species", "metric", "change", "residual_change"):
        if col not in table.columns:
            raise MissingColumnError(
                f"scenario table has no column {col!r}; run scenario_impact(..., "
                "mitigation=crossings) to get with_mitigation and residual_change."
            )
    sign = table["metric"].isin(HIGHER_IS_BETTER).map({True: -1.0, False: 1.0})
    loss = sign * table["change"]
    residual = sign * table["residual_change"]
    share = (1.0 - residual / loss).where(loss > 0)
    return pd.DataFrame(
        {
            "scenario": table["scenario"],
            "species": table["species"],
            "metric": table["metric"],
            "unit": table["metric"].map(_unit),
            "loss": loss,
            "mitigated": loss - residual,
            "residual_loss": residual,
            "share_mitigated": share,
        }
    ).reset_index(drop=True)
