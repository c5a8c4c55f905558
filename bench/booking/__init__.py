"""The parts of the booking-flow benchmark; ``bench/booking_flow.py`` is the entry point."""
