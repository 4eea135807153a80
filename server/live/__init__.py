"""The live session, on both sides of the process boundary.

Event loop (server process): ``session`` (one WebSocket connection), ``messages`` (its JSON messages),
``supervisor`` (starts, talks to, watches and replaces the engine workers) and ``placement`` (which worker a
session trains in).

Engine worker (its own process, single-threaded): ``worker`` (the sessions of one worker and their commands),
``clock`` (every live run of the worker stepped a round at a time), ``run`` (one session's trainers, pace,
view and frames), ``pacing`` and ``frames`` (the binary messages the page receives).

Between them: ``wire`` (the typed messages both sides exchange) and ``channel`` (the in-process twin of a
pipe). Nothing on the worker side imports the web framework: tests/server/test_layout.py checks it.
"""
