"""The flexcem command line."""
