"""The conversion stage: the steps of the chain, their step records and their supervision
(a model that crashes or hangs fails only its own step)."""
