"""How the server stops: ``drain`` (SIGTERM: finish or hand over the work in flight, behind a proxy) and
``interrupt`` (Ctrl+C stops at once, even while long work runs)."""
