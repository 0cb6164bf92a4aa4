"""flexcem.planner."""
