"""Agent hooks shipped with kro (`kro hook claude-code`)."""
