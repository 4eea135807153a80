"""``python -m server ...`` is the ``nnplay`` command (for checkouts where the console script is not installed)."""

from .cli import main

main()
