"""keras-migration-harness: prove that trained Keras models survive TensorFlow/Keras upgrades.

Laid out by stage, in the order a model goes through them; each imports only the ones below it:

- ``core``: TF-free specs, configuration, registry, catalogue, results, golden files, hashing,
  hardware fingerprints, comparison, safety, inspection, pre-flight;
- ``keras``: the only package that imports TensorFlow/Keras (lazily): runtime and formats;
- ``source``: the embedded cases, golden recording, runner references;
- ``convert``: the steps of the chain, step records, supervision;
- ``verify``: one class per check, classification, the session, shards;
- ``report``: merge and gate, renderings, generated docs;
- front ends: ``cli``, ``pytest_plugin``, ``toxenvs`` (tox's plugin) and ``workflow`` (the CI
  workflow's dry run).
"""

from __future__ import annotations

__version__ = "0.1.0"
