"""The verification stage: one class per check, classification (pure), the session that
runs an environment's checks, and the shards its cells are written to."""
