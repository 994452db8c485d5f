"""staydown: find out who keeps bringing a stopped systemd unit back, and keep it down."""

from __future__ import annotations

__version__ = "0.1.0"
