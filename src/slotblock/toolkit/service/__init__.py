"""The control plane's use cases: the admin gate, reset, fixture load and export, fault
rules and the request log."""
