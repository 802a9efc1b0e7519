"""4-bit (nf4, double quantization) and 8-bit loading of the backbone's linear layers through bitsandbytes."""

from __future__ import annotations

import importlib
import importlib.metadata

from chatvla2_lite.errors import QuantizationUnavailableError

QUANTIZATIONS = ("4bit", "8bit", None)
MIN_BITSANDBYTES_CPU = (0, 48)  # first releases whose 4-bit and 8-bit kernels run on the CPU


def normalize_quantization(quantization: str | None) -> str | None:
    """ "4bit", "8bit" or None; accepts "none", "nf4", "int8" and the like."""
    if quantization is None:
        return None
    q = str(quantization).lower().replace("-", "").replace("_", "")
    aliases = {"none": None, "no": None, "fp32": None, "4bit": "4bit", "nf4": "4bit", "8bit": "8bit", "int8": "8bit"}
    if q not in aliases:
        raise QuantizationUnavailableError(
            f"unknown quantization {quantization!r}; use '4bit' (or 'nf4'), '8bit' (or 'int8') or none"
        )
    return aliases[q]


def _version(text: str) -> tuple[int, ...]:
    return tuple(int(p) for p in text.split("+")[0].split(".")[:2] if p.isdigit())


def check_bitsandbytes(quantization: str, device: str) -> None:
    """Raise QuantizationUnavailableError naming the fix when bitsandbytes cannot quantize on `device`."""
    try:
        importlib.import_module("bitsandbytes")
    except Exception as exc:  # ImportError, or a broken native library
        raise QuantizationUnavailableError(
            f"{quantization} quantization needs bitsandbytes, which cannot be imported here ({exc}); "
            "install it with `pip install bitsandbytes`, or load without quantization "
            "(quantization=None; on the command line --quantization none)"
        ) from exc
    version = importlib.metadata.version("bitsandbytes")
    if device.startswith("cpu") and _version(version) < MIN_BITSANDBYTES_CPU:
        need = ".".join(map(str, MIN_BITSANDBYTES_CPU))
        raise QuantizationUnavailableError(
            f"bitsandbytes {version} has no CPU kernels for {quantization}; `pip install 'bitsandbytes>={need}'`, "
            "use a CUDA device, or load without quantization (quantization=None)"
        )


def bitsandbytes_config(quantization: str | None, device: str, skip_modules: list[str]):
    """A transformers BitsAndBytesConfig for the backbone (None for full precision)."""
    quantization = normalize_quantization(quantization)
    if quantization is None:
        return None
    check_bitsandbytes(quantization, device)
    import torch
    from transformers import BitsAndBytesConfig

    if quantization == "4bit":
        return BitsAndBytesConfig(
            load_in_4bit=True,
            bnb_4bit_quant_type="nf4",
            bnb_4bit_use_double_quant=True,
            bnb_4bit_compute_dtype=torch.bfloat16 if device.startswith("cuda") else torch.float32,
            llm_int8_skip_modules=list(skip_modules),
        )
    return BitsAndBytesConfig(load_in_8bit=True, llm_int8_skip_modules=list(skip_modules))
