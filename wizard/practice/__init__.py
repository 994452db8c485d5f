"""Practice challenges in the lab: generated, booted, graded and hinted."""
