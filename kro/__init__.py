"""kro: a read-only seatbelt between an agent and kubectl."""

__version__ = "0.1.0"
