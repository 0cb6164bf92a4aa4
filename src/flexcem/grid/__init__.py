"""flexcem.grid."""
