"""Tests of segurlink.outbox."""
