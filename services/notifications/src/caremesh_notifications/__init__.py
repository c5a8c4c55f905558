"""CareMesh notifications: contacts kept from records' events, and messages sent."""
