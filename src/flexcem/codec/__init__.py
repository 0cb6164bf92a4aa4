"""flexcem.codec."""
