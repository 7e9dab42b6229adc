"""Planning with the atlas: infrastructure status and time, scenarios of planned projects and
their cumulative impact, residual loss to offset.

Floor 3 (analyses): uses ``barriers`` and ``connectivity``; renderers only draw its tables.
"""

from cami_atlas.planning.status import (
    STATUSES,
    infrastructure_as_of,
    infrastructure_status,
    split_by_status,
)

__all__ = ["STATUSES", "infrastructure_as_of", "infrastructure_status", "split_by_status"]
