"""Background workers that run inside `slotblock serve`: the webhook dispatcher."""
