"""The integrator's control plane under `/_admin/`: admin tokens, reset, fixtures, fault
injection, the request log and webhook administration. Off without an admin token.

Its own layers (`api` → `service` → `store`), held by an import contract; the product
(`core`, `service`, `store`) never imports it.
"""
