"""The use cases: validation beyond shape, tenancy, series and instance rules."""
