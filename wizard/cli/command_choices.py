"""The fixed choices the command line offers (formats, challenge levels).

Their own tiny module so that building the parser, which every run does,
does not import the plan or the challenge generator just to list them.
"""

from __future__ import annotations

OUTPUT_FORMATS = ("script", "dropin", "ansible")
CHALLENGE_LEVELS = (1, 2, 3)
