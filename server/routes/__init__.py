"""One router module per resource: health, options, train (and background runs), lessons, short links (setups),
the socket, the page."""
