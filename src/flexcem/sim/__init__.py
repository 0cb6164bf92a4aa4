"""flexcem.sim."""
