"""Findings and choices into ordered actions with their undo. Pure."""
