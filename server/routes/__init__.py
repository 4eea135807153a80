"""One router module per resource: health, options, train (and background runs), the socket, the page."""
