"""The control plane's queries: emptying the database or a location, admin tokens."""
