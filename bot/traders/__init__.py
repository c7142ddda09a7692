"""traders feature."""
