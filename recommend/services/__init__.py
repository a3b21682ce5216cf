"""Left for the demo job list (moving to recommend.core); capabilities live in their own packages."""
