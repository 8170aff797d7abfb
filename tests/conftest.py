"""Hypothesis profiles for the exacthess test suite.

* ``dev`` (default): quick local runs.
* ``ci``: derandomised, loaded automatically when the ``CI`` environment variable is set.
* ``thorough``: at least 10x the examples of ``dev`` and no deadline, for long searches:
  ``pytest --hypothesis-profile thorough``.

A test that needs more examples than the rest does not pin ``max_examples``: it multiplies the loaded
profile's count by a named weight (``tests/example_counts.py``: ``@scaled(DIFFERENTIAL)``, 7x: ``ci`` runs
105 examples of the differential test, ``thorough`` 2100), so every profile, a one-off one included, keeps
its other settings and its relation to the rest of the suite.
"""

import os

from hypothesis import HealthCheck, settings

_common = dict(suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

settings.register_profile("dev", max_examples=15, deadline=None, **_common)
settings.register_profile("ci", max_examples=15, deadline=None, derandomize=True, **_common)
settings.register_profile("thorough", max_examples=300, deadline=None, **_common)
settings.load_profile("ci" if os.environ.get("CI") else "dev")

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
