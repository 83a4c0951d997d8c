"""One module per resource of the public API: its routes and nothing else."""
