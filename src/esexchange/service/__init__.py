"""Running passes for many mailboxes: the composition root of a synchronization.

``runner.sync_connection`` wires a connection's configuration, the ERP store, the
Exchange adapter and the engine together; ``checks`` and ``token`` answer an
administrator's "is everything reachable?" before the first pass.
"""
