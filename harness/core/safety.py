"""What in a model's configs makes Keras run code, and refusing it before any load.

Keras 2 / TF <= 2.15 run a Lambda layer's marshalled bytecode while loading an ``.h5`` with no
guard at all and call any TensorFlow function a ``TFOpLambda`` names; Keras 3 before 3.9 imports
any module a config names (CVE-2025-1550), from the model config and from an ``.h5``'s training
config alike; before 3.11 a config could name a loading API as a function (CVE-2025-8747,
CVE-2025-9906); before 3.14 a ``TFSMLayer`` loads a SavedModel (a TensorFlow graph that can read
and write files) from a path the config chooses. So the harness checks every config of a file
(read by :mod:`harness.core.modelfile`, within its resource limits) before Keras does, in every
environment, against explicit allowlists: modules by whole dotted components, functions by
module and name, TF ops by name. SECURITY.md lists each route and the test that covers it.
"""

from __future__ import annotations

import builtins
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from harness.core.errors import UnsafeModelError
from harness.core.modelfile import WRAPPED, ModelDocument, read_config, read_document

__all__ = ["check_safe", "read_config", "unsafe_references", "walk"]

#: the packages a class reference may name (matched by whole dotted components): Keras, TF and
#: the harness's own rebuilds of removed Keras 2 layers (the repaired route's files)
SAFE_MODULES = ("keras", "tensorflow", "tf_keras", "harness.keras.legacy_layers")
#: the modules a function reference may name: what Keras serializes losses, metrics,
#: activations, initializers, ... from (matched by whole dotted components)
SAFE_FUNCTION_MODULES = (
    "keras.losses",
    "keras.metrics",
    "keras.activations",
    "keras.initializers",
    "keras.regularizers",
    "keras.constraints",
    "keras.ops",
    "keras.src.losses",
    "keras.src.metrics",
    "keras.src.activations",
    "keras.src.ops",
    "tf_keras.losses",
    "tf_keras.metrics",
    "tf_keras.activations",
    "tensorflow.math",
    "tensorflow.nn",
    "builtins",
)
#: names that load, download, execute or register code: refused in any module
UNSAFE_FUNCTION_NAMES = {
    "load_model",
    "load_weights",
    "get_file",
    "exec",
    "eval",
    "compile",
    "open",
    "system",
    "popen",
    "__import__",
    "getattr",
    "setattr",
    "import_module",
    "run",
    "call",
    "check_output",
    "deserialize_keras_object",
    "deserialize",
    "get",
    "enable_unsafe_deserialization",
    "load",
    "loads",
    "register",
}
#: layers whose config carries Python code (bytecode or a ``__lambda__`` object)
CODE_LAYERS = {"Lambda"}
LAMBDA_MARKER = "__lambda__"
#: Keras 2 layers that call a TensorFlow attribute named in their config; only the
#: ``function``s of TF_OP_LAYERS in PURE_TF_OPS are accepted
TF_OP_LAYERS = {"TFOpLambda", "SlicingOpLambda"}
TF_ATTRIBUTE_LAYERS = {"ClassMethod", "InstanceMethod", "InstanceProperty"}
#: layers that open a path their config names
PATH_LAYERS = {"TFSMLayer"}
PATH_KEYS = ("filepath", "file_path", "export_dir", "saved_model_dir")
#: Keras's own markers for data in a config (tensors, arrays, slices): no code
DATA_MARKERS = {
    "__tensor__",
    "__numpy__",
    "__bytes__",
    "__typespec__",
    "__ellipsis__",
    "__slice__",
    "__tuple__",
    "__keras_tensor__",
}
#: TensorFlow functions a TFOpLambda may call, by the name Keras 2 saves: pure math on tensors,
#: no I/O, no Python callbacks, no state
PURE_TF_OPS = frozenset(
    [f"__operators__.{op}" for op in ("add", "getitem", "eq", "ne", "matmul", "truediv")]
    + [
        f"math.{op}"
        for op in (
            "abs add add_n argmax argmin ceil cos cosh cumsum cumprod divide divide_no_nan "
            "equal erf exp expm1 floor floordiv floormod greater greater_equal l2_normalize "
            "less less_equal log log1p log_softmax logical_and logical_not logical_or maximum "
            "minimum multiply negative not_equal pow reciprocal reduce_all reduce_any "
            "reduce_euclidean_norm reduce_logsumexp reduce_max reduce_mean reduce_min "
            "reduce_prod reduce_std reduce_sum reduce_variance round rsqrt sigmoid sign sin "
            "sinh softplus sqrt square squared_difference subtract tan tanh top_k truediv "
            "multiply_no_nan"
        ).split()
    ]
    + [
        f"nn.{op}"
        for op in (
            "bias_add elu gelu l2_normalize leaky_relu log_softmax moments relu relu6 selu "
            "sigmoid silu softmax softplus softsign swish tanh"
        ).split()
    ]
    + [f"linalg.{op}" for op in ("matmul", "matvec", "norm", "einsum", "l2_normalize")]
    + [
        f"strings.{op}"
        for op in (
            "as_string join length lower reduce_join regex_full_match regex_replace split "
            "strip substr to_number upper"
        ).split()
    ]
    + (
        "broadcast_to cast clip_by_value concat einsum expand_dims fill gather gather_nd identity "
        "matmul norm one_hot ones_like pad range rank repeat reshape reverse shape size slice "
        "split squeeze stack strided_slice tile transpose unstack where zeros_like "
        "image.resize compat.v1.shape compat.v1.transpose compat.v1.squeeze"
    ).split()
)


def in_modules(module: str, roots: tuple[str, ...]) -> bool:
    """True when ``module`` is one of ``roots`` or inside one, by whole dotted components
    (``keras.layers`` is inside ``keras``; ``kerasevil`` is not)."""
    return any(module == root or module.startswith(root + ".") for root in roots)


def walk(
    config: Any, where: str = "model", *, layers_only: bool = False
) -> Iterator[tuple[str, dict[str, Any]]]:
    """Yield ``(layer path, object)`` for every dict with a ``class_name``, depth first: every
    one anywhere (initializers, losses, metrics, ...), or with ``layers_only`` the model's
    layers, through nested models (``layers``) and wrappers (``layer``, ``backward_layer``,
    ``cell``). The one walker of a model config: the safety check and inspection use it."""
    stack: list[tuple[Any, str]] = [(config, where)]
    while stack:
        value, here = stack.pop()
        if isinstance(value, dict):
            if "class_name" in value:
                inner = value.get("config")
                name = inner.get("name") if isinstance(inner, dict) else None
                here = f"{here}/{name}" if isinstance(name, str) else here
                yield here, value
                if layers_only:
                    stack.extend(_wrapped(inner if isinstance(inner, dict) else {}, here))
            if not layers_only:
                stack.extend(
                    (child, here)
                    for child in reversed(list(value.values()))
                    if isinstance(child, dict | list)
                )
        elif isinstance(value, list) and not layers_only:
            stack.extend(
                (child, here) for child in reversed(value) if isinstance(child, dict | list)
            )


def _wrapped(inner: dict[str, Any], here: str) -> list[tuple[Any, str]]:
    """A layer's nested layers, then the layers it wraps, in the order they are pushed."""
    children = inner.get("layers")
    found = [(child, here) for child in reversed(children)] if isinstance(children, list) else []
    return found + [(inner[key], here) for key in WRAPPED if isinstance(inner.get(key), dict)]


def _unsafe_function(module: str, name: str) -> bool:
    """True when a function reference could do more than compute: outside the function
    modules, a name that loads/executes, a Python builtin, a private name, or a TensorFlow
    function that is not a pure op."""
    leaf = name.rsplit(".", 1)[-1]
    if not leaf.isidentifier() or leaf.startswith("_") or leaf in UNSAFE_FUNCTION_NAMES:
        return True
    if not in_modules(module, SAFE_FUNCTION_MODULES):
        return True
    if module == "builtins":
        return hasattr(builtins, leaf)
    if in_modules(module, ("tensorflow",)):
        namespace = module.removeprefix("tensorflow").lstrip(".")
        return f"{namespace}.{leaf}".lstrip(".") not in PURE_TF_OPS
    return False


def _problem(obj: dict[str, Any], where: str, allowed: set[str]) -> str | None:
    """Why one object of a config could run code, or None."""
    class_name = str(obj.get("class_name", ""))
    module = obj.get("module")
    registered = obj.get("registered_name")
    inner = obj.get("config")
    inner = inner if isinstance(inner, dict) else {}
    if class_name in CODE_LAYERS or inner.get("function_type") == "lambda":
        return f"{class_name} layer at {where}"
    if class_name == LAMBDA_MARKER:
        return f"serialized Python lambda at {where}"
    if class_name in TF_OP_LAYERS:
        function = str(inner.get("function", ""))
        if function not in PURE_TF_OPS:
            return f"{class_name} calling tf.{function} (not a pure TF op) at {where}"
        return None
    if class_name in TF_ATTRIBUTE_LAYERS:
        return f"{class_name} layer at {where}"
    if class_name in PATH_LAYERS or str(registered).rsplit(">", 1)[-1] in PATH_LAYERS:
        return f"{class_name} (opens the path its config names) at {where}"
    paths = [key for key in PATH_KEYS if key in inner]
    if paths:
        return f"{class_name} with {paths[0]} {inner[paths[0]]!r} (opens a path) at {where}"
    if class_name in DATA_MARKERS:
        return None
    if class_name in allowed or registered in allowed:
        return None
    if class_name == "function" or (class_name.isidentifier() and not class_name[:1].isupper()):
        # Keras resolves a lower-case class name to whatever the module holds, a function too
        name = str(obj.get("config", "")) if class_name == "function" else class_name
        module_name = str(module or "builtins")
        if name in allowed:
            return None
        if _unsafe_function(module_name, name):
            return f"function {module}.{name} at {where}"
        return None
    if class_name in UNSAFE_FUNCTION_NAMES:
        return f"function {module}.{class_name} at {where}"
    if isinstance(module, str) and not in_modules(module, SAFE_MODULES):
        return f"reference to module {module!r} ({class_name}) at {where}"
    return None


def unsafe_references(config: dict[str, Any], allowed: set[str], where: str = "model") -> list[str]:
    """Every object of ``config`` that could run code, by path: Lambda layers and serialized
    lambdas, TF-op layers calling anything but a pure op, layers that open a path, function
    references outside the allowlist and module references outside Keras/TensorFlow."""
    problems = []
    code_at: set[str] = set()
    for here, obj in walk(config, where):
        if obj.get("class_name") == LAMBDA_MARKER and here in code_at:
            continue  # the function of a Lambda layer reported above
        problem = _problem(obj, here, allowed)
        if problem is not None:
            problems.append(problem)
            code_at.add(here)
    return problems


def document_problems(document: ModelDocument, allowed: set[str]) -> list[str]:
    """:func:`unsafe_references` of every config the file holds (model and training config)."""
    return [
        problem
        for where, config in document.configs()
        for problem in unsafe_references(config, allowed, where)
    ]


def check_safe(path: Path, *, model_id: str, trusted: bool, allowed: set[str]) -> None:
    """Refuse to load ``path`` when it breaks a resource limit, or could execute code and the
    model is not trusted."""
    document = read_document(path)
    if document.format == "savedmodel" and not trusted:
        raise UnsafeModelError(
            f"Refusing to load {path}: a SavedModel runs its TensorFlow graph when called, which "
            f"can read and write files (Keras 3.14+ refuses TFSMLayer in safe mode too). "
            f'Fix: if you trust model {model_id!r}, set "trusted": true in its registry entry.'
        )
    if trusted:
        return
    problems = document_problems(document, allowed)
    if problems:
        raise UnsafeModelError(
            f"Refusing to load {path}: it can execute code ({'; '.join(problems)}). "
            f'Fix: if you trust model {model_id!r}, set "trusted": true in its registry entry.'
        )
