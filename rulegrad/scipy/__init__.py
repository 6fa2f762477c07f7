"""scipy's functions made differentiable (placeholder: the scipy plugin's package replaces it)."""
