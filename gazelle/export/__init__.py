"""Exporting models for inference without gazelle: `format="jax"` and `format="onnx"`. [top]

`Model.export` hands off to `export_model`. `format="jax"` writes serialized StableHLO
(`jax.export`) plus the weights as plain arrays in one zip, loaded back by
`gazelle.saving.load_exported` with JAX alone; `format="onnx"` builds an ONNX graph from
the layer graph of a Sequential or Functional model (needs the `onnx` package; install
the `export` extra).
"""
import os

FORMATS = ("jax", "onnx")


def export_model(model, filepath, format="jax", verbose=None, input_signature=None,
                 **kwargs):
    """Exports `model` as an artifact for inference.

    Args:
        model: a built gazelle model.
        filepath: `str` or `pathlib.Path`, where to write the artifact.
        format: `"jax"` (serialized StableHLO + weights, any model) or `"onnx"`
            (Sequential and Functional models of the supported layers).
        verbose: whether to print a message once written (default True).
        input_signature: optional shapes and dtypes of the inputs: a list (or a dict by
            input name) of objects with `shape` and `dtype` such as `keras.Input(...)` or
            `jax.ShapeDtypeStruct`; `None` in a shape means any size. Defaults to the
            model's own inputs.
        **kwargs: `batch_sizes` (`format="jax"` only): fixed batch sizes to export
            when a symbolic batch dimension cannot be traced; `opset` (`format="onnx"`).

    ```python
    model.export("model.onnx", format="onnx")
    ```
    """
    verbose = True if verbose is None else bool(verbose)
    if not isinstance(format, str):
        raise ValueError(f"format must be a string, one of {FORMATS}; received {format!r}.")
    fmt = format.lower()
    if fmt == "tf_saved_model":
        raise ValueError(
            "format='tf_saved_model' needs TensorFlow, which gazelle does not use. Export "
            "with format='onnx' (ONNX Runtime, TensorRT, OpenVINO, ...) or format='jax' "
            "(serialized StableHLO, loaded with gazelle.saving.load_exported).")
    if fmt not in FORMATS:
        raise ValueError(f"Unsupported export format {format!r}; gazelle exports "
                         f"{FORMATS}.")
    filepath = os.fspath(filepath)
    if fmt == "jax":
        from gazelle.export.stablehlo import export_jax
        batch_sizes = kwargs.pop("batch_sizes", None)
        _no_extra(kwargs, fmt)
        return export_jax(model, filepath, input_signature=input_signature,
                          verbose=verbose, batch_sizes=batch_sizes)
    from gazelle.export.onnx import export_onnx
    opset = kwargs.pop("opset", None)
    _no_extra(kwargs, fmt)
    return export_onnx(model, filepath, input_signature=input_signature, verbose=verbose,
                       opset=opset)


def _no_extra(kwargs, fmt):
    if kwargs:
        raise ValueError(f"export(format={fmt!r}) got unexpected arguments "
                         f"{sorted(kwargs)}.")


__all__ = ["FORMATS", "export_model"]
