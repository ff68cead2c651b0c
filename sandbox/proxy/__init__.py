"""The session API proxy: the one holder of the cluster's credentials, forwarding reads only."""
