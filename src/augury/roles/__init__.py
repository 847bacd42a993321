"""The roles of Augury and the wiring that starts and connects them: every process that
runs and what the HTTP layer asks to get things done.

- ``services``: what a server holds and what the HTTP layer calls (``Services``):
  ``Services.start`` runs the one-process server (``augury serve``: the engine on its
  thread, the read models followed by a projector process or thread, surveillance, the
  identity stores and the first admin); ``Services.start_node`` an API node's
  (``augury api``). Its errors are ``errors``' (no HTTP status: the API maps them).
- ``projector_process``: the read models written by a child process (``augury serve``).
- ``observer`` (with ``observe_jobs`` and ``observe_job_rows``): fetching the resolution
  sources that are due, and observing one market on demand (``augury follow --role
  observe`` and every API node).
- ``written``: the seq the running request's commands wrote (read-your-writes).
- ``engine_role``, ``sequencer``: the engine role (``augury engine``): the one writer of
  the journal; it takes command batches from the bus and publishes the committed
  records. ``failover`` and ``cluster``: its standbys, the lease, ``augury cluster``.
- ``replica``: the exchange state rebuilt from the committed record stream with the
  recovery's own code (``State.apply``), on every API node.
- ``node``, ``node_engine``: opening an API node's bus and journal with one clear error
  line; what it uses in place of an in-process engine (commands over the bus, live
  reads from its replica).
- ``read_models``: the projector as a role (``augury follow --role project``), and the
  API node's wait for the read models (history reads).
- ``watch_role``: surveillance as a role (``augury follow --role watch``).
- ``supervisor``: ``augury serve --workers N``, the roles as processes on one machine.

This layer sits above the domain, the journal, the engine, the transport, the
projections, the evidence store and the identity stores, and below the API, the web UI
and the CLI (``.importlinter``): the CLI composes the roles with the HTTP app; no module
of the API starts a process, it asks ``services`` and ``observer``.
"""
