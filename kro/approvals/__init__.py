"""Approvals: a mutation the policy blocks becomes a request the user approves once, from outside."""
