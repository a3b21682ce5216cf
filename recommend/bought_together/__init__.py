"""Frequently bought together: rules and a co-purchase graph per model version, overrides, cart completion."""
