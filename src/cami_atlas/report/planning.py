"""HTML report of planning scenarios: one section per scenario (rendering only).

The tables come from :func:`cami_atlas.planning.scenario_impact` and
:func:`cami_atlas.planning.residual_loss`; this module only lays them out.
"""

from __future__ import annotations

import html

import pandas as pd

from cami_atlas.report.render import table_html

__all__ = ["scenario_report_html"]

_INTRO = (
    "Each scenario is compared with the existing network. <em>change</em> = with scenario − "
    "existing; <em>sum of single changes</em> adds the change each project causes alone; "
    "<em>interaction</em> = change − sum of single changes (how far the projects together "
    "differ from the sum of their parts)."
)


def scenario_report_html(
    table: pd.DataFrame,
    *,
    residual: pd.DataFrame | None = None,
    title: str = "Planning scenarios: cumulative impact",
    projects: dict[str, list[str]] | None = None,
) -> str:
    """A standalone HTML page with one section per scenario.

    Parameters
    ----------
    table : DataFrame
        From :func:`cami_atlas.planning.scenario_impact`.
    residual : DataFrame, optional
        From :func:`cami_atlas.planning.residual_loss`: an "Offset" subsection per scenario.
    title : str
    projects : dict, optional
        ``{scenario: [project names]}`` listed under each heading.

    Examples
    --------
    >>> t = pd.DataFrame({"scenario": ["A"], "species": ["Saiga_tatarica"],
    ...     "metric": ["m_eff_km2"], "existing": [10000.0], "with_scenario": [5800.0],
    ...     "change": [-4200.0], "sum_of_single_changes": [-4200.0], "interaction": [0.0]})
    >>> "<h2>Scenario A</h2>" in scenario_report_html(t)
    True
    """
    parts = [
        f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{html.escape(title)}"
        "</title></head><body>",
        f"<h1>{html.escape(title)}</h1>",
        f"<p>{_INTRO}</p>",
    ]
    for scen, rows in table.groupby("scenario", sort=False):
        parts.append(f"<h2>Scenario {html.escape(str(scen))}</h2>")
        if projects is not None:
            names = projects.get(str(scen), [])
            parts.append(
                "<p>Projects: "
                + (html.escape(", ".join(names)) if names else "none (existing network only)")
                + "</p>"
            )
        parts.append(str(table_html(rows.drop(columns="scenario"), digits=3)))
        if residual is not None:
            res = residual[residual["scenario"] == scen]
            parts.append("<h3>Offset: residual loss after mitigation</h3>")
            parts.append(
                "<p>The loss left after the crossing structures, in the units of "
                "each metric: the amount an offset has to make good.</p>"
            )
            parts.append(str(table_html(res.drop(columns="scenario"), digits=3)))
    parts.append("</body></html>")
    return "\n".join(parts)
