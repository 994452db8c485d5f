"""Build-time generators that read the CLI definition; not shipped in the wheel."""
