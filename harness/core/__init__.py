"""The TF-free core: specs, configuration, registry, limitations catalogue, results, golden
files, hardware fingerprints, comparison, atomic writes, errors, model-file safety, inspection and
pre-flight. Imports nothing else of the harness."""
