"""`kro serve`: read-only Kubernetes tools over MCP, every call through the shim's call pipeline."""
