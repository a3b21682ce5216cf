"""REST endpoints of recommend, one module per capability."""
