"""The control plane's HTTP side: its routes, and the middleware that injects faults and
records requests."""
