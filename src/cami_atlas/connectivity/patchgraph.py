"""Patch graphs of habitat cores and the connectivity indices IIC, PC and ECA.

Nodes are habitat cores with an attribute ``a_i`` (area in km², or area x quality);
edges carry an effective distance ``d_ij`` between cores (a cost distance, or an
effective resistance from :func:`~cami_atlas.connectivity.circuit.effective_resistance`).

Definitions (Pascual-Hortal & Saura 2006; Saura & Pascual-Hortal 2007; Saura & Rubio
2010; as in Conefor), written anew here:

* dispersal kernel: ``p_ij = exp(-k d_ij)`` with ``k = -ln(p) / d`` so that the
  probability is ``p`` at the dispersal distance ``d``;
* ``PC = sum_i sum_j a_i a_j p*_ij / A_L**2`` where ``p*_ij`` is the maximum product of
  probabilities over all paths from ``i`` to ``j`` (``p*_ii = 1``), i.e.
  ``exp(-k * shortest path distance)``;
* ``IIC = sum_i sum_j a_i a_j / (1 + nl_ij) / A_L**2`` where ``nl_ij`` is the number of
  links on the topological shortest path in the binary graph whose links are the pairs
  with ``d_ij <= d`` (``nl_ii = 0``; unreachable pairs add nothing);
* ``ECA = sqrt(PC_num)`` with ``PC_num = sum_i sum_j a_i a_j p*_ij`` (same unit as
  ``a``: the area of one patch that would give the same PC);
* importance of an element: ``dI = 100 (I - I_removed) / I``. For a node (removed with
  its attribute and links), ``dI = dI_intra + dI_flux + dI_connector`` with
  ``dI_intra = 100 a_k**2 / I_num``, ``dI_flux = 100 * 2 sum_{i != k} a_i a_k c_ik / I_num``
  (``c`` = ``p*`` or ``1/(1+nl)``) and the connector fraction the rest: what ``k`` adds
  as a stepping stone between other patches. A link's removal only changes the
  connector fraction.

``A_L`` (``landscape_area``) only scales PC and IIC; the ``d`` fractions and ECA do
not depend on it.
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import Any

import networkx as nx
import numpy as np
import pandas as pd
from scipy.sparse.csgraph import csgraph_from_dense, shortest_path

from ..errors import SchemaError

__all__ = [
    "connectivity_indices",
    "decay_probability",
    "link_importance",
    "node_importance",
    "patch_graph",
    "symmetric_distances",
]


def decay_probability(distance: Any, *, dispersal_distance: float,
                      probability: float = 0.5) -> np.ndarray:
    """Negative-exponential dispersal kernel ``exp(-k d)``, ``k = -ln(p) / d``.

    Examples
    --------
    >>> decay_probability([0.0, 1000.0, 2000.0], dispersal_distance=1000, probability=0.5)
    array([1.  , 0.5 , 0.25])
    """
    _check_kernel(dispersal_distance, probability)
    k = -np.log(probability) / dispersal_distance
    d = np.asarray(distance, dtype=float)
    with np.errstate(invalid="ignore"):
        return np.where(np.isinf(d), 0.0, np.exp(-k * d))


def _check_kernel(dispersal_distance: float, probability: float) -> None:
    if not (np.isfinite(dispersal_distance) and dispersal_distance > 0):
        raise SchemaError(f"dispersal_distance must be finite and > 0; got {dispersal_distance}.")
    if not 0 < probability < 1:
        raise SchemaError(f"probability must lie strictly between 0 and 1; got {probability}.")


#: Largest asymmetry ``|d_ij - d_ji|`` :func:`patch_graph` accepts, relative to the largest
#: finite distance: effective resistances from an iterative solver are symmetric only to
#: its tolerance (``tol=1e-6`` by default).
SYMMETRY_RTOL = 1e-6


def symmetric_distances(distances: np.ndarray, *, ids: Any = None,
                        rtol: float = SYMMETRY_RTOL) -> np.ndarray:
    """``(D + D.T) / 2`` of a distance matrix that is symmetric up to round-off.

    ``inf`` (not connected) must sit at mirrored positions; finite entries may differ
    from their mirror by at most ``rtol`` times the largest finite distance (an
    iterative solver's tolerance). Anything else raises :class:`SchemaError` naming the
    largest asymmetry.

    Examples
    --------
    >>> symmetric_distances(np.array([[0.0, 2.0000000001], [1.9999999999, 0.0]])).tolist()
    [[0.0, 2.0], [2.0, 0.0]]
    """
    d = np.asarray(distances, dtype=float)
    names = list(range(len(d))) if ids is None else list(ids)
    inf = np.isinf(d)
    odd = inf != inf.T
    if odd.any():
        i, j = np.argwhere(odd)[0]
        raise SchemaError(
            f"the distance matrix must be symmetric: d[{names[i]!r}, {names[j]!r}] = {d[i, j]} "
            f"but d[{names[j]!r}, {names[i]!r}] = {d[j, i]} (inf = not connected must be "
            "mirrored). Symmetrise directed distances first, e.g. np.minimum(D, D.T).")
    fin = ~inf
    scale = float(np.abs(d[fin]).max(initial=0.0))
    with np.errstate(invalid="ignore"):  # inf - inf at mirrored disconnected pairs
        gap = np.where(fin, np.abs(d - d.T), 0.0)
    worst = float(gap.max(initial=0.0))
    if worst > rtol * scale:
        i, j = np.unravel_index(int(np.argmax(gap)), gap.shape)
        raise SchemaError(
            f"the distance matrix must be symmetric (to {rtol:g} of its largest finite value "
            f"{scale:.6g}); the largest asymmetry is {worst:.6g} ({worst / scale:.2e} of it): "
            f"d[{names[i]!r}, {names[j]!r}] = {d[i, j]:.10g} vs d[{names[j]!r}, {names[i]!r}] = "
            f"{d[j, i]:.10g}. Effective resistances: solve tighter (tol=) or with "
            "method='direct'; directed distances: symmetrise them first, e.g. (D + D.T) / 2 "
            "or np.minimum(D, D.T).")
    with np.errstate(invalid="ignore"):
        return np.where(fin, (d + d.T) / 2.0, np.inf)


def patch_graph(attributes: pd.Series, distances: pd.DataFrame | np.ndarray, *,
                max_distance: float | None = None,
                symmetry_rtol: float = SYMMETRY_RTOL) -> nx.Graph:
    """A networkx patch graph: cores as nodes, finite effective distances as edges.

    Parameters
    ----------
    attributes : Series
        Attribute of each core (e.g. ``area_km2``), indexed by core id.
    distances : DataFrame or array
        Square, symmetric matrix of effective distances between the cores (cost
        distance, effective resistance, ...), ``inf`` where not connected. A DataFrame
        is aligned on ``attributes.index``. A matrix symmetric to ``symmetry_rtol`` (an
        iterative solver's) is used as ``(D + D.T) / 2`` (:func:`symmetric_distances`).
    max_distance : float, optional
        Only pairs at most this far apart get an edge.
    symmetry_rtol : float
        Largest ``|d_ij - d_ji|`` accepted, relative to the largest finite distance.

    Returns
    -------
    networkx.Graph
        Node attribute ``attribute``; edge attribute ``distance``. ``G.graph`` holds
        ``attribute_name``.

    Examples
    --------
    >>> a = pd.Series([1.0, 2.0], index=["x", "y"], name="area_km2")
    >>> g = patch_graph(a, np.array([[0, 5.0], [5.0, 0]]))
    >>> g.nodes["y"]["attribute"], g.edges["x", "y"]["distance"]
    (2.0, 5.0)
    """
    if not isinstance(attributes, pd.Series):
        raise SchemaError(f"attributes must be a pandas Series indexed by core id; got "
                          f"{type(attributes).__name__}.")
    a = attributes.astype(float)
    if a.isna().any() or (a < 0).any():
        raise SchemaError(f"core attributes must be >= 0 and not missing; bad ids: "
                          f"{list(a.index[a.isna() | (a < 0)][:5])}.")
    if a.index.has_duplicates:
        raise SchemaError("core ids (the attributes' index) must be unique.")
    if isinstance(distances, pd.DataFrame):
        missing = a.index.difference(distances.index).union(a.index.difference(distances.columns))
        if len(missing):
            raise SchemaError(f"the distance matrix lacks cores {list(missing[:5])}; its index and "
                              "columns must hold every core id of the attributes.")
        d = distances.loc[a.index, a.index].to_numpy(dtype=float)
    else:
        d = np.asarray(distances, dtype=float)
    n = len(a)
    if d.shape != (n, n):
        raise SchemaError(f"distances must be a {n} x {n} matrix (one row per core); got "
                          f"shape {d.shape}.")
    if np.isnan(d).any() or (d < 0).any():
        raise SchemaError("distances must be >= 0 (inf where not connected), without NaN.")
    d = symmetric_distances(d, ids=a.index, rtol=symmetry_rtol)
    g = nx.Graph(attribute_name=attributes.name)
    ids = list(a.index)
    g.add_nodes_from((i, {"attribute": float(v)}) for i, v in zip(ids, a.to_numpy(), strict=True))
    iu, ju = np.triu_indices(n, 1)
    ok = np.isfinite(d[iu, ju])
    if max_distance is not None:
        ok &= d[iu, ju] <= max_distance
    g.add_edges_from((ids[i], ids[j], {"distance": float(d[i, j])})
                     for i, j in zip(iu[ok], ju[ok], strict=True))
    return g


def _arrays(graph: nx.Graph) -> tuple[list[Hashable], np.ndarray, np.ndarray]:
    if not isinstance(graph, nx.Graph) or graph.is_directed():
        raise SchemaError("expected an undirected networkx Graph from patch_graph().")
    nodes = list(graph.nodes)
    try:
        a = np.array([float(graph.nodes[v]["attribute"]) for v in nodes])
    except KeyError as exc:
        raise SchemaError("every node needs an 'attribute' (build the graph with "
                          "patch_graph()).") from exc
    pos = {v: i for i, v in enumerate(nodes)}
    d = np.full((len(nodes), len(nodes)), np.inf)
    for u, v, dist in graph.edges(data="distance"):
        if dist is None:
            raise SchemaError(f"edge {u!r}-{v!r} has no 'distance'; give every edge of the graph "
                              "a 'distance' attribute (e.g. effective resistance or cost).")
        d[pos[u], pos[v]] = d[pos[v], pos[u]] = float(dist)
    return nodes, a, d


def _product_probability(d: np.ndarray, k: float) -> np.ndarray:
    """p*_ij = exp(-k * shortest-path distance): the maximum-product probability path."""
    if d.shape[0] == 0:
        return np.zeros((0, 0))
    sp_d = shortest_path(csgraph_from_dense(d, null_value=np.inf), method="D", directed=False)
    return np.exp(-k * sp_d)


def _iic_weights(d: np.ndarray, threshold: float) -> np.ndarray:
    """1 / (1 + nl_ij) in the binary graph of links with d_ij <= threshold (0 if none)."""
    if d.shape[0] == 0:
        return np.zeros((0, 0))
    links = np.where(d <= threshold, 1.0, np.inf)
    np.fill_diagonal(links, np.inf)
    nl = shortest_path(csgraph_from_dense(links, null_value=np.inf), method="D",
                       directed=False, unweighted=True)
    return 1.0 / (1.0 + nl)


def _numerators(a: np.ndarray, d: np.ndarray, k: float, threshold: float) -> tuple[float, float,
                                                                                np.ndarray,
                                                                                np.ndarray]:
    pstar = _product_probability(d, k)
    iic_w = _iic_weights(d, threshold)
    return float(a @ pstar @ a), float(a @ iic_w @ a), pstar, iic_w


def connectivity_indices(graph: nx.Graph, *, dispersal_distance: float, probability: float = 0.5,
                         landscape_area: float | None = None) -> pd.Series:
    """IIC, PC and ECA of a patch graph.

    Parameters
    ----------
    graph : networkx.Graph
        From :func:`patch_graph`.
    dispersal_distance : float
        Distance (same unit as the edge distances) at which the dispersal probability
        is ``probability``; also the link threshold of the binary IIC graph.
    probability : float
        Probability at ``dispersal_distance`` (0.5 by default).
    landscape_area : float, optional
        ``A_L`` in the unit of the attribute (e.g. km²); PC and IIC are ``NaN`` without it.

    Returns
    -------
    Series
        ``PC``, ``IIC``, ``PC_num``, ``IIC_num``, ``ECA`` (unit of the attribute).

    Examples
    --------
    >>> a = pd.Series([1.0, 2.0, 1.0], index=["A", "B", "C"])
    >>> d = np.array([[0, 1, 3], [1, 0, 1], [3, 1, 0.0]])
    >>> out = connectivity_indices(patch_graph(a, d), dispersal_distance=1, landscape_area=10)
    >>> out.round(4).to_dict()
    {'PC': 0.105, 'IIC': 0.1067, 'PC_num': 10.5, 'IIC_num': 10.6667, 'ECA': 3.2404}
    """
    _check_kernel(dispersal_distance, probability)
    if landscape_area is not None and not landscape_area > 0:
        raise SchemaError(f"landscape_area must be > 0; got {landscape_area}.")
    _, a, d = _arrays(graph)
    k = -np.log(probability) / dispersal_distance
    pc_num, iic_num, _, _ = _numerators(a, d, k, dispersal_distance)
    al2 = landscape_area**2 if landscape_area is not None else np.nan
    return pd.Series({"PC": pc_num / al2, "IIC": iic_num / al2, "PC_num": pc_num,
                      "IIC_num": iic_num, "ECA": float(np.sqrt(pc_num))}, name="connectivity")


def _pct(base: float, new: float) -> float:
    return 100.0 * (base - new) / base if base > 0 else 0.0


def node_importance(graph: nx.Graph, *, dispersal_distance: float,
                    probability: float = 0.5) -> pd.DataFrame:
    """Importance of every core: dPC and dIIC with their intra / flux / connector fractions.

    Each node is removed in turn (with its attribute and links) and both indices are
    recomputed: ``n`` all-pairs shortest-path runs of ``O(n^2 log n)``, fine for
    hundreds of cores.

    Returns
    -------
    DataFrame
        Indexed by core id: ``dPC``, ``dPC_intra``, ``dPC_flux``, ``dPC_connector``,
        ``dIIC``, ``dIIC_intra``, ``dIIC_flux``, ``dIIC_connector`` (percent), and
        ``ECA_without`` (ECA after removing the core, unit of the attribute).

    Examples
    --------
    >>> a = pd.Series([1.0, 2.0, 1.0], index=["A", "B", "C"])
    >>> d = np.array([[0, 1, 3], [1, 0, 1], [3, 1, 0.0]])
    >>> out = node_importance(patch_graph(a, d), dispersal_distance=1)
    >>> out.loc["B", ["dPC", "dPC_intra", "dPC_flux", "dPC_connector"]].round(3).tolist()
    [78.571, 38.095, 38.095, 2.381]
    """
    _check_kernel(dispersal_distance, probability)
    nodes, a, d = _arrays(graph)
    k = -np.log(probability) / dispersal_distance
    pc, iic, pstar, iic_w = _numerators(a, d, k, dispersal_distance)
    n = len(nodes)
    rows = []
    for i in range(n):
        keep = np.arange(n) != i
        pc_i, iic_i, _, _ = _numerators(a[keep], d[np.ix_(keep, keep)], k, dispersal_distance)
        rows.append((pc_i, iic_i))
    removed = np.array(rows).reshape(n, 2)
    out = pd.DataFrame(index=pd.Index(nodes, name="core"))
    for name, base, w, col in (("dPC", pc, pstar, 0), ("dIIC", iic, iic_w, 1)):
        total = np.array([_pct(base, r) for r in removed[:, col]])
        intra = 100.0 * a**2 / base if base > 0 else np.zeros(n)
        w_off = w.copy()
        np.fill_diagonal(w_off, 0.0)
        flux = 100.0 * 2.0 * a * (w_off @ a) / base if base > 0 else np.zeros(n)
        conn = total - intra - flux
        conn[np.abs(conn) < 1e-9 * max(1.0, float(np.abs(total).max(initial=0)))] = 0.0
        out[name] = total
        out[f"{name}_intra"] = intra
        out[f"{name}_flux"] = flux
        out[f"{name}_connector"] = conn
    out["ECA_without"] = np.sqrt(removed[:, 0])
    return out


def link_importance(graph: nx.Graph, *, dispersal_distance: float,
                    probability: float = 0.5) -> pd.DataFrame:
    """Importance of every link: ``dPC`` and ``dIIC`` (percent) when it alone is removed.

    A link only carries connector importance. ``dIIC`` is 0 for links longer than
    ``dispersal_distance`` (they are not links of the binary IIC graph).

    Returns
    -------
    DataFrame
        One row per edge: ``core_a``, ``core_b``, ``distance``, ``dPC``, ``dIIC``.

    Examples
    --------
    >>> a = pd.Series([1.0, 2.0, 1.0], index=["A", "B", "C"])
    >>> d = np.array([[0, 1, 3], [1, 0, 1], [3, 1, 0.0]])
    >>> link_importance(patch_graph(a, d), dispersal_distance=1)["dPC"].round(3).tolist()
    [19.048, 0.0, 19.048]
    """
    _check_kernel(dispersal_distance, probability)
    nodes, a, d = _arrays(graph)
    k = -np.log(probability) / dispersal_distance
    pc, iic, _, _ = _numerators(a, d, k, dispersal_distance)
    pos = {v: i for i, v in enumerate(nodes)}
    recs = []
    for u, v, dist in graph.edges(data="distance"):
        i, j = pos[u], pos[v]
        d2 = d.copy()
        d2[i, j] = d2[j, i] = np.inf
        pc_e, iic_e, _, _ = _numerators(a, d2, k, dispersal_distance)
        recs.append({"core_a": u, "core_b": v, "distance": float(dist),
                     "dPC": max(_pct(pc, pc_e), 0.0), "dIIC": max(_pct(iic, iic_e), 0.0)})
    return pd.DataFrame(recs, columns=["core_a", "core_b", "distance", "dPC", "dIIC"])
