"""The roles of a distributed Augury: the processes that run and how they connect.

- ``sequencer``: the engine role (``augury engine``): the one writer of the journal; it
  takes command batches from the bus and publishes the committed records.
- ``replica``: the exchange state rebuilt from the committed record stream with the
  recovery's own code (``State.apply``), on every API node.
- ``node_engine``: what an API node uses in place of an in-process engine: commands over
  the bus, live reads from its replica.
- ``read_models``: the projector as a role (``augury follow --role project``), and the
  API node's wait for the read models (history reads).
- ``watch_role``: surveillance as a role (``augury follow --role watch``).
- ``connect``: opening the bus and the journal for a role, with one clear error line.

This layer sits above the domain, the journal, the engine, the transport and the
projections and below the API, the web UI and the CLI (``.importlinter``): the CLI
composes the roles with the HTTP app; the API never starts a process.
"""
