"""HTTP only: routes, request/response shapes, error mapping, the auth dependency."""
