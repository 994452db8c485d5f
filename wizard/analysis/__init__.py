"""Pure analysis: snapshots in, findings out. No bus, no files, no prompts."""

from __future__ import annotations

from wizard.analysis.diagnosis import diagnose
from wizard.analysis.findings import Diagnosis, Evidence, Finding, FindingKind, Remedy

__all__ = ["Diagnosis", "Evidence", "Finding", "FindingKind", "Remedy", "diagnose"]
