"""The source stage: the embedded cases, goldens recorded in the source environment, and
runner references (the source model replayed on this runner's hardware)."""
