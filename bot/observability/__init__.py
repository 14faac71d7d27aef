"""Observability: Prometheus metrics (`metrics`, `collectors`), the health and metrics endpoints
every serving part exposes (`endpoints`), and the logging filter that keeps patient text and
phone numbers out of the logs (`logs`). Endpoint paths are in `endpoints`; metric names in
`metrics`."""
