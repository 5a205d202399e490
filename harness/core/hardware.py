"""Hardware fingerprints: what decides a kernel's numerics on the machine that runs a check.

Two runs can be expected to agree bit for bit only when they ran on the same fingerprint. The
fingerprint holds the CPU (vendor, family, model, the ISA features that change TensorFlow's and
oneDNN's kernels), the numerics settings read from the environment (oneDNN on/off and its ISA
cap, thread counts, op determinism) and, when a GPU runs the model, its name and driver (the
CUDA/cuDNN versions of the TensorFlow build go into the details, not the id: they change with
the TensorFlow version, which is the upgrade being judged).

The CPU part is read from ``/proc/cpuinfo`` and the environment, without TensorFlow, so every
environment of one runner computes the same id.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
from dataclasses import dataclass, field
from typing import Any

#: cpuinfo flags that select different kernels in Eigen, oneDNN or XLA's CPU backend.
ISA_FLAGS = (
    "sse4_1",
    "sse4_2",
    "avx",
    "avx2",
    "fma",
    "f16c",
    "avx512f",
    "avx512dq",
    "avx512cd",
    "avx512bw",
    "avx512vl",
    "avx512ifma",
    "avx512vbmi",
    "avx512_vbmi2",
    "avx512_vnni",
    "avx512_bf16",
    "avx512_fp16",
    "avx512_vp2intersect",
    "avx_vnni",
    "amx_tile",
    "amx_int8",
    "amx_bf16",
    "amx_fp16",
    # arm64
    "asimd",
    "asimddp",
    "sve",
    "sve2",
    "bf16",
    "i8mm",
)
#: environment variables that change numerics (read by TensorFlow, oneDNN or OpenMP).
SETTINGS = (
    "TF_ENABLE_ONEDNN_OPTS",
    "ONEDNN_MAX_CPU_ISA",
    "DNNL_MAX_CPU_ISA",
    "ONEDNN_DEFAULT_FPMATH_MODE",
    "TF_NUM_INTRAOP_THREADS",
    "TF_NUM_INTEROP_THREADS",
    "OMP_NUM_THREADS",
    "TF_DETERMINISTIC_OPS",
    "XLA_FLAGS",
    "TF_XLA_FLAGS",
)
#: the details that are not part of the id (software versions, free text).
NOT_IN_ID = ("gpu_cuda", "gpu_cudnn")


@dataclass(frozen=True)
class Fingerprint:
    """One runner's hardware and numerics settings; ``id`` names it in cells and file names."""

    device: str  # "cpu" or "gpu"
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def id(self) -> str:
        keyed = {k: v for k, v in sorted(self.details.items()) if k not in NOT_IN_ID}
        digest = hashlib.sha256(json.dumps(keyed, sort_keys=True).encode()).hexdigest()
        return f"{self.device}-{digest[:8]}"

    def describe(self) -> str:
        """One line for a person: processor, ISA, oneDNN, threads (and the GPU)."""
        d = self.details
        parts = [str(d.get("cpu_model") or d.get("machine", "?"))]
        if d.get("cpu_vendor"):
            parts.append(
                f"{d['cpu_vendor']} family {d.get('cpu_family', '?')} model "
                f"{d.get('cpu_model_number', '?')}"
            )
        parts.append(f"ISA {isa_summary(d.get('isa', []))}")
        onednn = "off" if d.get("TF_ENABLE_ONEDNN_OPTS") in ("0", "false", "False") else "on"
        cap = d.get("ONEDNN_MAX_CPU_ISA") or d.get("DNNL_MAX_CPU_ISA")
        parts.append(f"oneDNN {onednn}" + (f" (max ISA {cap})" if cap else ""))
        parts.append(f"{d.get('cpus', '?')} CPUs")
        extra = [
            f"{key}={d[key]}"
            for key in SETTINGS
            if key in d and key not in ("TF_ENABLE_ONEDNN_OPTS", "ONEDNN_MAX_CPU_ISA")
        ]
        parts.extend(extra)
        if self.device == "gpu":
            parts.append(f"GPU {d.get('gpu_name', '?')} (driver {d.get('gpu_driver', '?')})")
        return ", ".join(parts)

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "device": self.device, "summary": self.describe(), **self.details}


def isa_summary(flags: list[str]) -> str:
    """The widest vector ISA and the notable extensions, e.g. ``AVX-512 (bf16, vnni) + FMA``."""
    have = set(flags)
    if "avx512f" in have:
        extras = [f for f in ("avx512_bf16", "avx512_vnni", "avx512_fp16") if f in have]
        text = "AVX-512" + (f" ({', '.join(e.split('_', 1)[1] for e in extras)})" if extras else "")
    elif "avx2" in have:
        text = "AVX2"
    elif "avx" in have:
        text = "AVX"
    elif "asimd" in have:
        text = "NEON" + (" + SVE" if "sve" in have else "")
    else:
        text = "SSE" if "sse4_2" in have else "baseline"
    if "fma" in have:
        text += " + FMA"
    if any(f.startswith("amx") for f in have):
        text += " + AMX"
    return text


def parse_cpuinfo(text: str) -> dict[str, Any]:
    """The first processor's vendor, family, model, model name and relevant ISA flags."""
    fields: dict[str, str] = {}
    for line in text.splitlines():
        if not line.strip():
            if fields:
                break
            continue
        key, _, value = line.partition(":")
        fields.setdefault(key.strip().lower(), value.strip())
    flags = set((fields.get("flags") or fields.get("features") or "").split())
    return {
        "cpu_vendor": fields.get("vendor_id") or fields.get("cpu implementer", ""),
        "cpu_family": fields.get("cpu family") or fields.get("cpu architecture", ""),
        "cpu_model_number": fields.get("model") or fields.get("cpu part", ""),
        "cpu_model": fields.get("model name", ""),
        "isa": [flag for flag in ISA_FLAGS if flag in flags],
    }


def _cpus() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def cpu_details(
    environ: dict[str, str] | None = None, cpuinfo: str | None = None
) -> dict[str, Any]:
    """The CPU part of the fingerprint (no TensorFlow): processor, ISA and numerics settings."""
    environ = dict(os.environ) if environ is None else environ
    if cpuinfo is None:
        try:
            with open("/proc/cpuinfo", encoding="utf-8") as handle:
                cpuinfo = handle.read()
        except OSError:
            cpuinfo = ""
    details: dict[str, Any] = {"machine": platform.machine(), **parse_cpuinfo(cpuinfo)}
    if not details["cpu_model"]:
        details["cpu_model"] = platform.processor() or platform.machine()
    details["cpus"] = _cpus()
    for key in SETTINGS:
        if environ.get(key):
            details[key] = environ[key]
    return details


def fingerprint(gpu: dict[str, Any] | None = None) -> Fingerprint:
    """This runner's fingerprint; ``gpu`` holds the GPU's details when a GPU runs the model
    (see :func:`harness.keras.runtime.gpu_details`)."""
    details = cpu_details()
    if gpu:
        details.update({f"gpu_{key}": value for key, value in gpu.items()})
        return Fingerprint("gpu", details)
    return Fingerprint("cpu", details)
