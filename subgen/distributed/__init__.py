"""The Ray driver: ``subgen run --ray`` runs the same batch as a Ray Data pipeline over a cluster (or a local Ray).

Nothing here imports ``ray`` at module level: ``require_ray`` and the runner import it when a run starts, so the
package can be imported (and ``--ray`` refused with the install command) where the ``[ray]`` extra is missing.
"""

from __future__ import annotations

from subgen.distributed.options import RayOptions, checked_on_driver
from subgen.distributed.progress import RayProgress
from subgen.distributed.runner import RayRun, run_on_ray
from subgen.distributed.session import INSTALL, require_ray

__all__ = ["INSTALL", "RayOptions", "RayProgress", "RayRun", "checked_on_driver", "require_ray", "run_on_ray"]
