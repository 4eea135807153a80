"""Engine work that is not a live session: the engine ``pool`` (worker threads, a bounded number at a time, in
short slices), scripted runs (``results``: ``POST /api/train`` and ``nnplay train``) and background runs
(``runs``), and the server's pictures (``pictures`` draws them, ``render_slots`` runs them a turn at a time)."""
