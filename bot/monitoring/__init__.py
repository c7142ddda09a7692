"""Health and metrics over HTTP (``METRICS_PORT``): what operators and Prometheus read."""
