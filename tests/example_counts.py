"""Example counts of the Hypothesis tests that need more examples than the rest of the suite.

The profiles in ``tests/conftest.py`` (``dev``, ``ci``, ``thorough``, or one registered for a one-off run) set
``max_examples`` for every test. A heavier test multiplies the *loaded* profile's count by a named weight
with :func:`scaled`, so it keeps the profile's other settings (``derandomize`` in ``ci``, no deadline) and its
relation to the rest: the weights live here, the counts stay in the profiles.

>>> from hypothesis import settings
>>> scaled(DIFFERENTIAL).max_examples == DIFFERENTIAL * settings.default.max_examples
True
"""

from hypothesis import settings

#: weight of the differential test of certified ranks (``tests/test_differential.py``):
#: ``ci`` 15 x 7 = 105 examples, ``thorough`` 300 x 7 = 2100
DIFFERENTIAL = 7


def scaled(weight: int) -> settings:
    """The loaded profile with ``weight`` times its ``max_examples`` (apply as a decorator, above ``@given``)."""
    return settings(max_examples=settings.default.max_examples * weight)
