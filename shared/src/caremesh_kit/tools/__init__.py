"""Operator command lines: ``caremesh-dlq`` (dead letters) and ``caremesh-events`` (the event log).

They talk to the broker only (AMQP and the management API), never to a service's store.
"""
