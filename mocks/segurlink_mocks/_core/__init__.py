"""What every mock shares: the HTTPS server (:mod:`.server`: lifecycle, mutual TLS,
keep-alive, request log, handler errors), the base of a service's behaviour
(:mod:`.service`), the routing map (:mod:`.routing`), the typed faults parsed once
(:mod:`.faults`), the ``/_mock/`` control endpoint (:mod:`.control`), the fixtures written
once (:mod:`.fixtures`) and the fictitious installation (:mod:`.installation`). Nothing is
imported here, so fixtures stay cheap to load."""
