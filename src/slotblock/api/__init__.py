"""HTTP only: routes (`routes/`), ASGI middleware (`middleware/`), request and response
shapes, error mapping, the auth dependency, and the wiring (`app`, `server`, `workers`)."""
