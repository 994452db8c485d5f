"""Everything that talks to a running systemd: the bus, the journal, the host's files."""
