"""No custom split functions."""
