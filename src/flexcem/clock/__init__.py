"""flexcem.clock."""
