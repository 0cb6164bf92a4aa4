"""flexcem.devices."""
