"""``python -m nnplay.server ...`` is the ``nnplay`` command too (``python -m nnplay`` is the usual spelling)."""

from .cli import main

main()
