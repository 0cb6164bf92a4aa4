"""Schema revisions of the grid store, oldest first (``0001_initial`` …)."""
