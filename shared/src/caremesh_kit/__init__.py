"""CareMesh common kit: one implementation of the plumbing every service shares."""
