"""Built-in tasks that build offline, deterministically, in seconds (cached on disk)."""
