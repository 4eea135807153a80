"""``python -m nnplay ...`` is the ``nnplay`` command (where the console script is not on the PATH)."""

from nnplay.server.cli import main

main()
