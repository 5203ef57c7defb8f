"""Durable delivery: an outbox of outbound exchanges, and the workers that deliver them."""
