"""flexcem.cli."""
