"""packs stage package."""
