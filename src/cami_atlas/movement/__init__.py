"""Movement: GPS tracks -> migration periods -> Brownian-bridge UDs -> corridors; step selection."""
