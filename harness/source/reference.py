"""Runner references: what the source model does on this runner's hardware.

The committed golden is the durable record of what the source model did on the machine that
recorded it. Another CPU generation (AVX2 vs AVX-512, other oneDNN kernels) or a GPU computes
the same model a few ULP differently, in every TensorFlow version alike, so a target
environment is judged against the source model replayed on the same hardware: the source
environment loads the committed source model, runs it on the golden's inputs and writes a
runner reference under ``<build>/references/<fingerprint id>/<model>/``. A target environment
compares with the reference of its own fingerprint, exactly by default: ``bitwise`` then means
"on this hardware, the upgrade changed nothing". The golden vs the reference is hardware drift,
the ``replay`` check, judged under the cross-hardware tolerance of ``harness.toml``.

A reference is stale, and is not used, when the golden it replays changed (its inputs or its
source model). Without a fresh reference for this fingerprint, a target environment compares
with the golden under the cross-hardware tolerance, and its cells say so.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.core.compare import Tolerance, compare_outputs, compare_values
from harness.core.config import Config
from harness.core.errors import GoldenError
from harness.core.golden import Golden, golden_files, read_golden, sha256_of, write_golden
from harness.core.hardware import Fingerprint
from harness.core.limitations import Observation
from harness.core.registry import Registry
from harness.source import layers

#: a check's outcome: an observation (None when it passed), its detail and its numbers
Verdict = tuple[Observation | None, str, dict[str, Any]]
REFERENCES = "references"
STEM = "reference"


def reference_dir(build_dir: Path, fingerprint_id: str) -> Path:
    return build_dir / REFERENCES / fingerprint_id


def golden_digest(golden_dir: Path, model: str) -> str:
    """The sha256 of the golden's arrays: a reference replays exactly these inputs."""
    return sha256_of(golden_files(golden_dir, model)[1])


def read_reference(
    build_dir: Path, fingerprint_id: str, golden_dir: Path, golden: Golden
) -> Golden | None:
    """The fresh reference of ``golden``'s model on this fingerprint, else None."""
    folder = reference_dir(build_dir, fingerprint_id)
    if not all(p.exists() for p in golden_files(folder, golden.model, STEM)):
        return None
    try:
        reference = read_golden(folder, golden.model, STEM)
    except GoldenError:
        return None
    replays = reference.meta.get("replays", {})
    fresh = replays.get("source_sha256") == golden.meta.get("source_sha256") and replays.get(
        "golden_sha256"
    ) == golden_digest(golden_dir, golden.model)
    # a reference from before the train-step check has no train step: replay it again
    return reference if fresh and "train_step" in reference.meta else None


def write_reference(
    build_dir: Path, fingerprint: dict[str, Any], golden_dir: Path, golden: Golden, replay: Golden
) -> Golden:
    """Store ``replay`` (the source model run on the golden's inputs here) as the reference."""
    replay.meta["replays"] = {
        "source_sha256": golden.meta.get("source_sha256"),
        "golden_sha256": golden_digest(golden_dir, golden.model),
    }
    replay.meta["provenance"]["hardware"] = fingerprint
    write_golden(reference_dir(build_dir, str(fingerprint["id"])), replay, STEM)
    return replay


@dataclass(frozen=True)
class Expected:
    """What a target environment's outputs are compared with.

    ``basis`` is ``reference`` (the source model replayed on this fingerprint: exact by
    default) or ``golden`` (no reference here: the golden, with the cross-hardware tolerance
    added to the declared one)."""

    golden: Golden
    outputs: Golden
    basis: str
    fingerprint: str
    cross_hardware: Tolerance

    def tolerance(self, declared: Tolerance) -> Tolerance:
        if self.basis == "reference":
            return declared
        return widen(declared, self.cross_hardware)

    def label(self) -> str:
        """How the comparison was made, for the cell's detail."""
        if self.basis == "reference":
            return ""
        return (
            f"vs the golden (no runner reference for {self.fingerprint}: cross-hardware "
            f"tolerance {describe_tolerance(self.cross_hardware)})"
        )

    def compared_with(self) -> str:
        """The cell's ``provenance.compared_with``."""
        if self.basis == "reference":
            return f"runner reference {self.fingerprint}"
        return "golden (cross-hardware tolerance)"

    def labelled(self, verdict: Verdict) -> Verdict:
        """A check's verdict, its detail (and message) saying when it was made against the
        golden rather than this runner's reference."""
        label = self.label()
        if not label:
            return verdict
        observation, detail, numbers = verdict
        if observation is not None:
            observation = Observation(
                observation.outcome, observation.exception, f"{observation.message} {label}"
            )
        return observation, f"{detail} {label}", numbers


def widen(declared: Tolerance, extra: Tolerance) -> Tolerance:
    """A declared tolerance plus the cross-hardware one: both drifts may add up."""
    reasons = "; ".join(r for r in (declared.reason, extra.reason) if r)
    return Tolerance(declared.max_abs + extra.max_abs, declared.max_ulp + extra.max_ulp, reasons)


def describe_tolerance(tolerance: Tolerance) -> str:
    return tolerance.describe()


def golden_fingerprint(golden: Golden) -> str:
    """The golden's recording hardware, as far as its provenance tells."""
    provenance = golden.meta.get("provenance", {})
    hardware = provenance.get("hardware")
    if isinstance(hardware, dict) and hardware.get("id"):
        return f"{hardware['id']} ({hardware.get('summary', '')})"
    name = provenance.get("device_name") or "?"
    return f"unrecorded (a {provenance.get('device', 'cpu')}: {name})"


def replay_verdict(
    golden: Golden,
    replay: Golden,
    fingerprint: Fingerprint,
    cross_hardware: Tolerance,
    *,
    regenerate: str,
    config: str,
) -> Verdict:
    """The ``replay`` check: the golden's predictions and evaluate results against this runner's
    replay of the source model. Exact on the fingerprint that recorded the golden; else within
    ``cross_hardware``. Returns ``(observation or None, detail, numbers)``."""
    recorded_on = golden_fingerprint(golden)
    same = recorded_on.split(" ", 1)[0] == fingerprint.id
    tolerance = Tolerance() if same else cross_hardware
    total = compare_outputs(golden.predict, replay.predict, tolerance)
    evaluate = compare_values(golden.evaluate, replay.evaluate, tolerance=tolerance)
    detail = (
        f"predict {total.summary()}; evaluate {evaluate.summary()}; golden recorded on "
        f"{recorded_on}; replayed on {fingerprint.id} ({fingerprint.describe()})"
    )
    total.merge(evaluate)
    if total.ok:
        return None, detail, total.numbers()
    if same:
        message = (
            f"the golden does not reproduce on the hardware that recorded it: {detail}. Fix: "
            f"restore golden/{golden.model} and its source model from git, or regenerate the "
            f"golden ({regenerate})."
        )
        return Observation("replay-mismatch", "", message), detail, total.numbers()
    message = (
        f"hardware drift beyond the cross-hardware tolerance ({describe_tolerance(tolerance)}): "
        f"{detail}. This is the hardware, not an upgrade: the golden and this runner's replay "
        f"ran the same file in the same environment. Fix: run on the recording hardware (or "
        f"with its oneDNN settings), or widen [numerics.cross_hardware] in {config} (or the "
        f"model's 'replay' tolerance) with a measured reason."
    )
    return Observation("hardware-drift", "", message), detail, total.numbers()


class References:
    """The runner references of one verification session, once per model and process: the
    source environment records them (replaying the committed source model on this runner),
    every other environment reads the one of its fingerprint, or falls back to the golden."""

    def __init__(
        self,
        *,
        registry: Registry,
        config: Config,
        build_dir: Path,
        fingerprint: Callable[[], Fingerprint],
    ):
        self.registry = registry
        self.config = config
        self.build_dir = build_dir
        self.fingerprint = fingerprint
        self._expected: dict[str, Expected] = {}

    def cross_hardware(self, model: str) -> Tolerance:
        """How far the golden may be from this runner's replay: the model's declared ``replay``
        tolerance, else harness.toml's ``[numerics.cross_hardware]``."""
        declared = self.registry.get(model).tolerances.get("replay")
        return Tolerance.from_json(declared) if declared else self.config.cross_hardware

    def expected(self, model: str, golden: Golden, *, replay: bool) -> Expected:
        """What outputs are compared with; ``replay``: this is the model's source environment,
        which records the reference."""
        if model not in self._expected:
            fingerprint = self.fingerprint()
            golden_dir = self.registry.golden_dir
            if replay:
                found: Golden | None = self._replay(model, golden, fingerprint)
            else:
                found = read_reference(self.build_dir, fingerprint.id, golden_dir, golden)
            self._expected[model] = Expected(
                golden=golden,
                outputs=found or golden,
                basis="reference" if found else "golden",
                fingerprint=fingerprint.id,
                cross_hardware=self.cross_hardware(model),
            )
        return self._expected[model]

    def known(self, model: str) -> Expected | None:
        """The comparison basis of ``model`` if one was made in this process."""
        return self._expected.get(model)

    def forget(self, model: str) -> None:
        self._expected.pop(model, None)

    def _replay(self, model: str, golden: Golden, fingerprint: Fingerprint) -> Golden:
        """Run the committed source model on the golden's inputs here; store the reference."""
        from harness.keras.opening import open_model
        from harness.source.recorder import record_golden

        entry = self.registry.get(model)
        opened = open_model(self.registry, model, entry.source)
        replayed = record_golden(
            opened,
            model=model,
            source_spec=str(entry.source),
            source_path=self.registry.resolve(model, entry.source),
            x=golden.x,
            y=golden.y,
            batch_size=golden.batch_size,
            command="replay",
        )
        written = write_reference(
            self.build_dir, fingerprint.to_json(), self.registry.golden_dir, golden, replayed
        )
        if layers.requested(model):
            from harness.keras import formats

            outputs = formats.backend().layer_outputs(opened, golden.x, golden.batch_size)
            folder = reference_dir(self.build_dir, fingerprint.id)
            layers.write_layers(folder, model, outputs, written.meta["replays"])
        return written

    def layer_outputs(self, model: str) -> layers.LayerOutputs | None:
        """The source model's layer outputs on this runner, recorded with the reference that
        ``model``'s outputs are compared with (None: not asked for, or no reference)."""
        expected = self._expected.get(model)
        if expected is None or expected.basis != "reference":
            return None
        folder = reference_dir(self.build_dir, expected.fingerprint)
        return layers.read_layers(folder, model, expected.outputs.meta.get("replays", {}))
