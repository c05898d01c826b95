"""Routes, unit operations, studies and dynamic operation."""

_DYNAMIC = ("simulate_dynamic", "load_scenario", "DynamicResult")


def __getattr__(name):
    # lazy: importing flowchem.process must not import the whole dynamic layer
    if name in _DYNAMIC:
        from . import dynamic

        return getattr(dynamic, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
