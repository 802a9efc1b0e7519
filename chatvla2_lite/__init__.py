"""chatvla2-lite: a ChatVLA-2-style vision-language-action model you can run on a laptop CPU.

`from chatvla2_lite import ChatVLA2` works, but torch and transformers load only when a name below is first used,
so `import chatvla2_lite` (the CLI, the sim, the Gradio app's startup) stays fast and light.
"""

__version__ = "0.1.0"

_LAZY = {
    "ChatVLA2": "chatvla2_lite.model.policy_chatvla2",
    "ChatVLA2Config": "chatvla2_lite.model.configuration_chatvla2",
    "ChatVLA2Processor": "chatvla2_lite.model.processing_chatvla2",
}
__all__ = ["__version__", *_LAZY]


def __getattr__(name: str):
    if name not in _LAZY:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(_LAZY[name]), name)
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_LAZY})
