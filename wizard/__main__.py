"""Entry point for ``python -m wizard``."""

from __future__ import annotations

from wizard.cli.main import main

raise SystemExit(main())
