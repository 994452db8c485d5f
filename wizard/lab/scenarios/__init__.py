"""Lab scenarios shipped as package data: one directory of units per scenario."""
