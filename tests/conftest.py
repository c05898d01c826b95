"""Test-suite settings: hypothesis draws a fixed sequence of examples, so a
run in CI is reproducible (set HYPOTHESIS_PROFILE=search to explore)."""

import os

from hypothesis import settings

settings.register_profile("ci", derandomize=True, database=None)
settings.register_profile("search", derandomize=False)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))
