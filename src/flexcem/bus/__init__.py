"""flexcem.bus."""
