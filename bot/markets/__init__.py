"""markets feature."""
