"""engine stage package."""
