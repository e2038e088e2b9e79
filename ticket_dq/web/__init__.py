"""The triage page (`ticket-dq serve`): a small server-rendered web application for issue handlers."""
