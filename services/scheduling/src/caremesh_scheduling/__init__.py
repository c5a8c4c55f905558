"""CareMesh scheduling: practitioners, slots and appointments."""
