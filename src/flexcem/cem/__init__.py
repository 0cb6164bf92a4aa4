"""flexcem.cem."""
