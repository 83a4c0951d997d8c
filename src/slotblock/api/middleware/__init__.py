"""The ASGI middleware of the HTTP edge: request ids and the access log, size limits, the
body timeout, repeated query parameters, security headers and unexpected failures."""
