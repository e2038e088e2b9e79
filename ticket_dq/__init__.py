"""ticket_dq: data-quality assurance for an online movie-ticketing platform."""
