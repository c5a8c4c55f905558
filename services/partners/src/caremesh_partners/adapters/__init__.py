"""The gateway's ways out (partners' webhook endpoints) and in (the event log)."""
