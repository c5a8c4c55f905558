"""CareMesh insurance: coverages and eligibility."""
