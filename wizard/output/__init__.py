"""What staydown writes and prints: rendered files, the reports, safe terminal text."""
