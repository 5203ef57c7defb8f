"""What every mock shares: the HTTPS server base (:mod:`.server`: lifecycle, mutual TLS,
faults, request log) and the fictitious installation (:mod:`.installation`: software,
structure, state directory). Nothing is imported here, so fixtures stay cheap to load."""
