"""Outbound I/O other than the store and the bus (payer adapters, SMTP/SMS/webhook channels and
the like) would go here. Scheduling has none today: it talks only to its store and the bus."""
