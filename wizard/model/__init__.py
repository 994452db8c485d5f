"""Plain values with no I/O: unit snapshots, the connection options, unit names."""
