"""One router module per resource: health, options, train (and background runs), lessons, short links (setups),
stored networks (networks), the socket, the page."""
