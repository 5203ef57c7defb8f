"""Command groups of the ``segurlink`` CLI, one module per service.

They live outside the service packages so that building the parser imports none of the
service code (``segurlink.insi`` imports zeep and lxml); each handler imports what it needs
when it runs.
"""
