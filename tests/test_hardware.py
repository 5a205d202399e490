"""Hardware fingerprints and runner references, without TensorFlow."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from harness.core.compare import Tolerance
from harness.core.golden import Golden, write_golden
from harness.core.hardware import Fingerprint, cpu_details, isa_summary, parse_cpuinfo
from harness.source import reference

ZEN5 = """processor\t: 0
vendor_id\t: AuthenticAMD
cpu family\t: 26
model\t\t: 2
model name\t: AMD EPYC
flags\t\t: fpu sse4_1 sse4_2 avx avx2 fma f16c avx512f avx512bw avx512_bf16 avx512_vnni sha_ni

processor\t: 1
vendor_id\t: AuthenticAMD
"""
SKYLAKE = (
    ZEN5.replace("AuthenticAMD", "GenuineIntel")
    .replace(": 26", ": 6")
    .replace("avx512f avx512bw avx512_bf16 avx512_vnni ", "")
)


def test_cpuinfo_gives_vendor_family_model_and_the_isa_that_matters() -> None:
    assert parse_cpuinfo(ZEN5) == {
        "cpu_vendor": "AuthenticAMD",
        "cpu_family": "26",
        "cpu_model_number": "2",
        "cpu_model": "AMD EPYC",
        "isa": [
            *("sse4_1", "sse4_2", "avx", "avx2", "fma", "f16c", "avx512f", "avx512bw"),
            *("avx512_vnni", "avx512_bf16"),
        ],
    }


def test_the_id_changes_with_the_cpu_and_with_each_numerics_setting() -> None:
    def fid(cpuinfo: str, **environ: str) -> str:
        return Fingerprint("cpu", cpu_details(environ, cpuinfo)).id

    base = fid(ZEN5)
    assert base == fid(ZEN5, HOME="/root")  # unrelated variables do not count
    assert base.startswith("cpu-") and len(base) == 12
    others = {
        fid(SKYLAKE),
        fid(ZEN5, ONEDNN_MAX_CPU_ISA="AVX2"),
        fid(ZEN5, TF_ENABLE_ONEDNN_OPTS="0"),
        fid(ZEN5, TF_NUM_INTRAOP_THREADS="1"),
        fid(ZEN5, TF_DETERMINISTIC_OPS="1"),
    }
    assert base not in others and len(others) == 5


def test_cuda_versions_are_details_not_identity() -> None:
    gpu = {"gpu_name": "H100", "gpu_driver": "550.54", "gpu_cuda": "11.8", "gpu_cudnn": "8"}
    one = Fingerprint("gpu", {**cpu_details({}, ZEN5), **gpu})
    other = Fingerprint("gpu", {**cpu_details({}, ZEN5), **gpu, "gpu_cuda": "12.3"})
    assert one.id == other.id and one.id.startswith("gpu-")
    assert "GPU H100 (driver 550.54)" in one.describe()


def test_describe_is_one_line_for_a_person() -> None:
    details = {**cpu_details({"ONEDNN_MAX_CPU_ISA": "AVX2"}, ZEN5), "cpus": 2}
    assert Fingerprint("cpu", details).describe() == (
        "AMD EPYC, AuthenticAMD family 26 model 2, ISA AVX-512 (bf16, vnni) + FMA, oneDNN on "
        "(max ISA AVX2), 2 CPUs"
    )
    assert isa_summary(["avx", "avx2", "fma"]) == "AVX2 + FMA"


def golden(model: str = "m", predict: float = 1.0) -> Golden:
    x = [np.arange(4, dtype="float32")]
    meta = {
        "source_sha256": "ab" * 32,
        "batch_size": 4,
        "evaluate": {"loss": 0.5},
        "compile": {"metrics": []},
        "optimizer": {"iterations": None},
        "provenance": {"device": "cpu", "device_name": "Old CPU"},
    }
    return Golden(model, meta, x, x, [np.full(4, predict, dtype="float32")])


def test_a_reference_is_read_back_only_while_it_replays_the_same_golden(tmp_path: Path) -> None:
    golden_dir, build = tmp_path / "golden", tmp_path / "build"
    write_golden(golden_dir, golden())
    committed = golden()
    fp = {"id": "cpu-aaaaaaaa", "summary": "here"}
    replayed = golden(predict=1.5)
    replayed.meta["train_step"] = {"refused": "the model has no optimizer (not compiled)"}
    reference.write_reference(build, fp, golden_dir, committed, replayed)
    found = reference.read_reference(build, "cpu-aaaaaaaa", golden_dir, committed)
    assert found is not None and float(found.predict[0][0]) == 1.5
    assert found.meta["provenance"]["hardware"] == fp
    assert reference.read_reference(build, "cpu-bbbbbbbb", golden_dir, committed) is None
    write_golden(golden_dir, golden(predict=2.0))  # the golden was regenerated: stale
    assert reference.read_reference(build, "cpu-aaaaaaaa", golden_dir, committed) is None


def test_a_reference_without_a_train_step_is_replayed_again(tmp_path: Path) -> None:
    golden_dir, build = tmp_path / "golden", tmp_path / "build"
    write_golden(golden_dir, golden())
    fp = {"id": "cpu-aaaaaaaa", "summary": "here"}
    reference.write_reference(build, fp, golden_dir, golden(), golden(predict=1.5))
    assert reference.read_reference(build, "cpu-aaaaaaaa", golden_dir, golden()) is None


def test_without_a_reference_the_golden_is_used_with_both_tolerances() -> None:
    cross = Tolerance(1e-5, 128, "measured")
    declared = Tolerance(0.0, 16, "Keras 3 BatchNormalization")
    by_golden = reference.Expected(golden(), golden(), "golden", "cpu-aaaaaaaa", cross)
    assert by_golden.tolerance(declared) == Tolerance(
        1e-5, 144, "Keras 3 BatchNormalization; measured"
    )
    assert by_golden.label() == (
        "vs the golden (no runner reference for cpu-aaaaaaaa: cross-hardware tolerance max abs "
        "1e-05 or 128 ULP)"
    )
    by_reference = reference.Expected(golden(), golden(), "reference", "cpu-aaaaaaaa", cross)
    assert by_reference.tolerance(declared) == declared and by_reference.label() == ""


def test_an_old_golden_says_its_hardware_was_not_recorded() -> None:
    assert reference.golden_fingerprint(golden()) == "unrecorded (a cpu: Old CPU)"
    new = golden()
    new.meta["provenance"]["hardware"] = {"id": "cpu-aaaaaaaa", "summary": "AMD EPYC"}
    assert reference.golden_fingerprint(new) == "cpu-aaaaaaaa (AMD EPYC)"


def runner(**environ: str) -> Fingerprint:
    return Fingerprint("cpu", cpu_details(environ, ZEN5))


def test_replay_within_the_cross_hardware_tolerance_passes_and_names_both_runners() -> None:
    here = runner()
    observation, detail, numbers = reference.replay_verdict(
        golden(),
        golden(predict=1.0000001),
        here,
        Tolerance(1e-5, 128, "m"),
        regenerate="R",
        config="harness.toml",
    )
    assert observation is None
    assert detail == (
        "predict 4/4 values differ (100.0%), max abs diff 1.19e-07, max 1 ULP; first: "
        "output0[0] expected 1.0 got 1.0000001192092896 (1 ULP), output0[1] expected 1.0 got "
        "1.0000001192092896 (1 ULP), output0[2] expected 1.0 got 1.0000001192092896 (1 ULP), "
        "output0[3] expected 1.0 got 1.0000001192092896 (1 ULP); evaluate bitwise; golden "
        f"recorded on unrecorded (a cpu: Old CPU); replayed on {here.id} ({here.describe()})"
    )
    assert numbers["mismatches"] == 4 and numbers["total"] == 5


def test_replay_beyond_the_tolerance_says_it_is_the_hardware() -> None:
    here = runner(ONEDNN_MAX_CPU_ISA="AVX2")
    observation, _, _ = reference.replay_verdict(
        golden(),
        golden(predict=1.5),
        here,
        Tolerance(1e-5, 128, "m"),
        regenerate="R",
        config="harness.toml",
    )
    assert observation is not None and observation.outcome == "hardware-drift"
    assert observation.message.startswith(
        "hardware drift beyond the cross-hardware tolerance (max abs 1e-05 or 128 ULP): predict "
        "4/4 values differ (100.0%), max abs diff 0.5, max 4194304 ULP;"
    )
    assert observation.message.endswith(
        f"golden recorded on unrecorded (a cpu: Old CPU); replayed on {here.id} ({here.describe()})"
        ". This is the hardware, not an upgrade: the golden and this runner's replay ran the same "
        "file in the same environment. Fix: run on the recording hardware (or with its oneDNN "
        "settings), or widen [numerics.cross_hardware] in harness.toml (or the model's 'replay' "
        "tolerance) with a measured reason."
    )


def test_on_the_recording_hardware_the_replay_must_be_bitwise() -> None:
    here = runner()
    recorded = golden()
    recorded.meta["provenance"]["hardware"] = here.to_json()
    observation, _, _ = reference.replay_verdict(
        recorded,
        golden(predict=1.0000001),
        here,
        Tolerance(1e-5, 128, "m"),
        regenerate="tox -e tf213 -- --golden-regen --model m",
        config="harness.toml",
    )
    assert observation is not None and observation.outcome == "replay-mismatch"
    assert observation.message.startswith(
        "the golden does not reproduce on the hardware that recorded it: predict 4/4 values differ"
    )
    assert observation.message.endswith(
        "Fix: restore golden/m and its source model from git, or regenerate the golden (tox -e "
        "tf213 -- --golden-regen --model m)."
    )
