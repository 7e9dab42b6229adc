"""Planning with the atlas: infrastructure status and time, scenarios of planned projects and
their cumulative impact, alternative alignments that avoid impact, where to put crossing
structures, the mitigation catalogue and the
measures it proposes, residual loss to offset.

Floor 3 (analyses): uses ``barriers`` and ``connectivity``; renderers only draw its tables.
"""

from cami_atlas.planning.alignment import (
    AlignmentResult,
    alternative_alignments,
    impact_surface,
)
from cami_atlas.planning.catalogue import (
    HIERARCHY,
    load_catalogue,
    propose_measures,
    structure_measures,
    summarise_proposals,
)
from cami_atlas.planning.definitions import (
    parse_scenario_option,
    project_lines,
    read_scenario_file,
    resolve_scenarios,
)
from cami_atlas.planning.monitoring import (
    check_monitoring,
    gps_crossings_at_structures,
    observed_use,
    read_monitoring,
    use_by_structure_type,
)
from cami_atlas.planning.offset import residual_loss
from cami_atlas.planning.placement import (
    CrossingPlacement,
    candidate_pieces,
    crossing_placement,
)
from cami_atlas.planning.scenarios import TABLE_COLUMNS, scenario_impact
from cami_atlas.planning.status import (
    STATUSES,
    infrastructure_as_of,
    infrastructure_status,
    split_by_status,
)

__all__ = [
    "HIERARCHY",
    "STATUSES",
    "TABLE_COLUMNS",
    "AlignmentResult",
    "CrossingPlacement",
    "alternative_alignments",
    "candidate_pieces",
    "check_monitoring",
    "crossing_placement",
    "gps_crossings_at_structures",
    "impact_surface",
    "infrastructure_as_of",
    "infrastructure_status",
    "load_catalogue",
    "observed_use",
    "parse_scenario_option",
    "project_lines",
    "propose_measures",
    "read_monitoring",
    "read_scenario_file",
    "residual_loss",
    "resolve_scenarios",
    "scenario_impact",
    "split_by_status",
    "structure_measures",
    "summarise_proposals",
    "use_by_structure_type",
]
