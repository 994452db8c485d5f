"""Practice challenges in the lab: generated, booted, graded and hinted."""

from __future__ import annotations

LEVELS = (1, 2, 3)
"""The challenge levels; here, so the parser lists them without the generator."""
