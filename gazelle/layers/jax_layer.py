"""JaxLayer and FlaxLayer: pure JAX functions and flax.linen modules as layers. [L2: core, random]

A `JaxLayer` keeps the wrapped model's `params` (trainable) and `state` (non-trainable) as
Variables laid out in the pytree the function expects. `call` reads their values, calls
the function and writes the state it returns back with `assign`: inside `fit`'s compiled
steps that write goes to the StatelessScope, exactly as BatchNormalization's moving
statistics do, so stateful functions train as one compiled program. The `rng` a function
asks for comes from the layer's SeedGenerator, whose state travels through the compiled
steps like other non-trainable values (a fresh key every step).

Configs name the functions (and a flax module's class) only; a saved layer is rebuilt
from the functions the caller passes in `custom_objects` or registered with
`register_keras_serializable`, never from code in the file. flax is optional: it is
imported only when a `FlaxLayer` is made.
"""
import inspect

import jax
import jax.numpy as jnp
import numpy as np

from gazelle import random as gazelle_random
from gazelle.core import registry, serialization, shapes, symbolic
from gazelle.core.variables import StatelessScope
from gazelle.layers.layer import Layer

_CALL_FN_ARGS = ("params", "state", "rng", "inputs", "training")
_INIT_FN_ARGS = ("rng", "inputs", "training")


class _Held:
    """Holds a value out of sight of the layer's attribute walk (the walk stops at nested
    containers; the Variables are tracked, in creation order, through `add_weight`)."""

    __slots__ = ("value",)

    def __init__(self, value):
        self.value = value


def _argument_names(fn, what, allowed, layer_name):
    """The parameter names of `fn`, checked against the ones the layer can pass."""
    if not callable(fn):
        raise TypeError(f"JaxLayer '{layer_name}': `{what}` must be a function, received "
                        f"{fn!r} of type {type(fn).__name__}.")
    try:
        parameters = inspect.signature(fn).parameters
    except (TypeError, ValueError) as e:
        raise ValueError(f"JaxLayer '{layer_name}': cannot read the signature of `{what}` "
                         f"({e}). Wrap it in a `def` whose arguments are named from "
                         f"{list(allowed)}.") from None
    if "inputs" not in parameters:
        raise ValueError(
            f"Missing required argument in `{what}`: `inputs` (JaxLayer '{layer_name}'). "
            f"`{what}` takes arguments named from {list(allowed)}, in any order; received "
            f"{what}{inspect.signature(fn)}.")
    for parameter in parameters.values():
        if parameter.name not in allowed:
            raise ValueError(
                f"Unsupported argument in `{what}`: `{parameter.name}` (JaxLayer "
                f"'{layer_name}'). Supported arguments are {list(allowed)}; received "
                f"{what}{inspect.signature(fn)}. Wrap the function to rename or drop it.")
        if parameter.kind == parameter.KEYWORD_ONLY:
            raise ValueError(
                f"JaxLayer '{layer_name}': `{what}` argument `{parameter.name}` is keyword-only, "
                "but the layer passes arguments by position. Remove the `*` before it.")
    return list(parameters)


def _is_array(value):
    return isinstance(value, (jax.Array, np.ndarray, np.generic))


def _function_name(value):
    if isinstance(value, dict):
        return value.get("config")
    return value


class JaxLayer(Layer):
    """Wraps a pure JAX model function as a layer.

    `call_fn` is called with the arguments it names, which must be taken from:

    - `params`: the trainable parameters (a pytree of arrays).
    - `state` (optional): the non-trainable state. A `call_fn` that takes `state` returns
      `(outputs, new_state)`, and `new_state` (same structure) replaces the state.
    - `rng` (optional): a JAX PRNG key (`uint32` of shape `(2,)`) in training, a fresh one
      at every call and every training step; `None` in inference.
    - `inputs` (required): the inputs, an array or a pytree of arrays.
    - `training` (optional): `True` in training, `False` otherwise.

    The parameters and state are either given (`params`, `state`) or made at build time
    by `init_fn(rng, inputs, training)` (it names the arguments it takes from these, with
    `inputs` required), which returns `params`, or `(params, state)` when `call_fn` takes
    a `state`. Array leaves become Variables (float ones in the layer's dtype); other
    leaves are passed through unchanged.

    Args:
        call_fn: the function that runs the model (see above).
        init_fn: the function that makes the initial `params` (and `state`) from
            placeholder inputs of the input shape. Required unless `params` or `state`
            is given (or `call_fn` takes neither).
        params: a pytree of the trainable parameters, to start from known values.
        state: a pytree of the non-trainable state.
        seed: an int seed for the keys passed as `rng`. Optional.
        native_serialization_platforms: only used by Keras's TensorFlow backend
            (`jax2tf`); gazelle runs on JAX and accepts `None` only.

    Saving: the config names `call_fn` and `init_fn`; loading rebuilds the layer with the
    functions passed in `custom_objects` or registered with
    `keras.saving.register_keras_serializable`.

    ```python
    def init_fn(rng, inputs):
        return {"w": jax.random.normal(rng, (inputs.shape[-1], 4)), "b": jnp.zeros(4)}

    def call_fn(params, inputs):
        return inputs @ params["w"] + params["b"]

    layer = keras.layers.JaxLayer(call_fn, init_fn)
    layer(np.ones((2, 3), "float32")).shape        # (2, 4)
    ```
    """

    def __init__(self, call_fn, init_fn=None, params=None, state=None, seed=None,
                 native_serialization_platforms=None, **kwargs):
        super().__init__(**kwargs)
        if native_serialization_platforms is not None:
            raise ValueError(
                f"JaxLayer '{self.name}': `native_serialization_platforms` is used only by "
                "Keras's TensorFlow backend (jax2tf); gazelle runs the function on JAX "
                f"directly. Pass None (received {native_serialization_platforms!r}).")
        self.native_serialization_platforms = None
        self.call_fn = call_fn
        self.init_fn = init_fn
        self.call_fn_arguments = _argument_names(call_fn, "call_fn", _CALL_FN_ARGS, self.name)
        self.call_fn_has_params = "params" in self.call_fn_arguments
        self.call_fn_has_state = "state" in self.call_fn_arguments
        self.init_fn_arguments = None
        if init_fn is not None:
            self.init_fn_arguments = _argument_names(init_fn, "init_fn", _INIT_FN_ARGS,
                                                     self.name)
        if init_fn is None and params is None and state is None and (
                self.call_fn_has_params or self.call_fn_has_state):
            raise ValueError(
                f"JaxLayer '{self.name}': `call_fn` takes a `params` or `state` argument, so "
                "one of `init_fn`, `params` and `state` must be given (all are None).")
        self.seed_generator = (gazelle_random.SeedGenerator(seed)
                               if "rng" in self.call_fn_arguments else None)
        self._held_params = _Held(None)
        self._held_state = _Held(None)
        self._held_inputs = _Held(None)     # (treedef, dtypes) of the latest inputs
        self._variable_count = 0
        self._make_variables(params, trainable=True)
        self._make_variables(state, trainable=False)
        if params is not None or state is not None:
            self.built = True

    # -- weights -----------------------------------------------------------------------
    @property
    def params(self):
        """The trainable parameters: the `params` pytree with Variables as leaves."""
        return self._held_params.value

    @property
    def state(self):
        """The non-trainable state: the `state` pytree with Variables as leaves."""
        return self._held_state.value

    def _make_variables(self, values, trainable):
        def make(value):
            if _is_array(value):
                dtype = jnp.dtype(value.dtype)
            elif isinstance(value, bool):
                dtype = jnp.dtype("bool")
            elif isinstance(value, int):
                dtype = jnp.dtype("int32")
            elif isinstance(value, float):
                dtype = jnp.dtype(self._dtype)
            else:
                return value        # not an array: configuration the function reads
            if jnp.issubdtype(dtype, jnp.floating):
                dtype = jnp.dtype(self._dtype)
            name = "variable" if self._variable_count == 0 else (
                f"variable_{self._variable_count}")
            self._variable_count += 1
            return self.add_weight(
                shape=np.shape(value), dtype=dtype.name, trainable=trainable, name=name,
                # A copy: fit donates the Variables' buffers, which must not be the caller's.
                initializer=lambda shape, dtype=None, value=value: jnp.array(value, dtype))

        tree = None if values is None else jax.tree_util.tree_map(make, values)
        (self._held_params if trainable else self._held_state).value = tree

    # -- inputs ------------------------------------------------------------------------
    def _cast(self, x):
        # Like Keras: float inputs take the layer's dtype; integer inputs stay integers
        # (token ids for an embedding inside the function).
        dtype = getattr(x, "dtype", None)
        if dtype is not None and jnp.issubdtype(dtype, jnp.floating):
            if jnp.dtype(dtype) != jnp.dtype(self._dtype):
                return jnp.asarray(x, dtype=self._dtype)
        return jnp.asarray(x) if isinstance(x, np.ndarray) else x

    def __call__(self, *args, **kwargs):
        if args:
            leaves, treedef = jax.tree_util.tree_flatten(args[0], is_leaf=symbolic.is_symbolic)
            dtypes = [getattr(x, "dtype", None) for x in leaves]
            self._held_inputs.value = (treedef, [self._input_dtype(d) for d in dtypes])
        return super().__call__(*args, **kwargs)

    def _input_dtype(self, dtype):
        if dtype is None or jnp.issubdtype(dtype, jnp.floating):
            return jnp.dtype(self._dtype)
        return jnp.dtype(dtype)

    def _structure(self, input_shape):
        """`(treedef, flat shapes, dtypes)` for `input_shape`: one shape, a structure of
        shapes, or the flat list `Layer` passes, rebuilt with the latest inputs' structure."""
        if serialization.is_shape(input_shape):
            flat = [tuple(input_shape)]
        else:
            flat = [tuple(s) for s in jax.tree_util.tree_leaves(
                input_shape, is_leaf=serialization.is_shape)]
        held = self._held_inputs.value
        if held is not None and held[0].num_leaves == len(flat):
            return held[0], flat, held[1]
        if serialization.is_shape(input_shape):
            treedef = jax.tree_util.tree_structure(0)
        else:
            treedef = jax.tree_util.tree_structure(
                jax.tree_util.tree_map(lambda s: 0, input_shape, is_leaf=serialization.is_shape))
        return treedef, flat, [jnp.dtype(self._dtype)] * len(flat)

    # -- build / call ------------------------------------------------------------------
    def _maybe_build(self, input_shapes):
        if self.built and self._build_shapes is None:
            # Built from given params/state: remember the first input shape (for summary).
            self._build_shapes = [tuple(s) for s in input_shapes]
        super()._maybe_build(input_shapes)

    def build(self, input_shape=None):
        if self.params is None and self.state is None and (
                self.call_fn_has_params or self.call_fn_has_state):
            self._initialize(input_shape)

    def _initialize(self, input_shape):
        treedef, flat, dtypes = self._structure(input_shape)
        placeholders = [jnp.ones(tuple(1 if d is None else d for d in s), dtype)
                        for s, dtype in zip(flat, dtypes)]
        inputs = jax.tree_util.tree_unflatten(treedef, placeholders)
        values = {"rng": self._get_init_rng, "inputs": lambda: inputs, "training": lambda: True}
        result = self.init_fn(*[values[name]() for name in self.init_fn_arguments])
        if self.call_fn_has_state:
            if not isinstance(result, (tuple, list)) or len(result) != 2:
                raise ValueError(
                    f"JaxLayer '{self.name}': `call_fn` takes a `state` argument, so `init_fn` "
                    "must return a tuple `(params, state)`; it returned "
                    f"{type(result).__name__}.")
            params, state = result
        else:
            params, state = result, None
        self._make_variables(params, trainable=True)
        self._make_variables(state, trainable=False)

    def _get_init_seed(self):
        """A fresh PRNG key (`uint32`, shape `(2,)`) from the global seed stream."""
        return gazelle_random.next_key()

    def _get_init_rng(self):
        """The `rng` passed to `init_fn`: one key. Subclasses may return a structure."""
        return self._get_init_seed()

    def _get_call_seed(self):
        """The next key of the layer's SeedGenerator (`uint32`, shape `(2,)`)."""
        return jax.random.key_data(self.seed_generator.next())

    def _get_call_rng(self, training):
        """The `rng` passed to `call_fn`: a fresh key in training, None otherwise."""
        return self._get_call_seed() if training else None

    def call(self, inputs, training=None):
        training = False if training is None else training

        def value_of(leaf):
            return leaf.value if hasattr(leaf, "assign") else leaf

        values = {
            "params": lambda: jax.tree_util.tree_map(value_of, self.params),
            "state": lambda: jax.tree_util.tree_map(value_of, self.state),
            "rng": lambda: self._get_call_rng(training),
            "inputs": lambda: inputs,
            "training": lambda: training,
        }
        result = self.call_fn(*[values[name]() for name in self.call_fn_arguments])
        if not self.call_fn_has_state:
            return result
        if not isinstance(result, (tuple, list)) or len(result) != 2:
            raise ValueError(
                f"JaxLayer '{self.name}': `call_fn` takes a `state` argument, so it must "
                f"return a tuple `(outputs, new_state)`; it returned {type(result).__name__}.")
        outputs, new_state = result
        self._write_state(new_state)
        return outputs

    def _write_state(self, new_state):
        new, _ = jax.tree_util.tree_flatten_with_path(new_state)
        old, _ = jax.tree_util.tree_flatten_with_path(self.state)
        new_paths = [jax.tree_util.keystr(p) for p, _ in new]
        old_paths = [jax.tree_util.keystr(p) for p, _ in old]
        if new_paths != old_paths:
            raise ValueError(
                f"JaxLayer '{self.name}': the state returned by `call_fn` does not have the "
                f"structure of the layer's state. Expected leaves {old_paths}, received "
                f"{new_paths}. Return the new state in the same pytree as the initial one.")
        for (_, variable), (_, value) in zip(old, new):
            if hasattr(variable, "assign"):
                variable.assign(value)

    def compute_output_shape(self, input_shape):
        treedef, flat, dtypes = self._structure(input_shape)
        self._maybe_build(flat)
        variables = self.variables
        values = [v.value for v in variables]

        def fn(*xs):
            with StatelessScope(zip(variables, values)):
                return self(jax.tree_util.tree_unflatten(treedef, list(xs)), training=False)

        return shapes.output_shape(fn, flat, dtypes)

    # -- config ------------------------------------------------------------------------
    def get_config(self):
        return {**super().get_config(),
                "call_fn": serialization.serialize_keras_object(self.call_fn),
                "init_fn": serialization.serialize_keras_object(self.init_fn),
                "native_serialization_platforms": self.native_serialization_platforms}

    @classmethod
    def from_config(cls, config_, custom_objects=None):
        """Rebuilds the layer; the functions named in the config are looked up in
        `custom_objects`, a `CustomObjectScope` and the registered objects.

        Args:
            config_: the dict from `get_config`.
            custom_objects: optional dict name -> function.
        """
        config_ = dict(config_)
        for key in ("call_fn", "init_fn"):
            config_[key] = _resolve(config_.get(key), key, cls.__name__, config_.get("name"),
                                    custom_objects)
        return cls(**config_)


def _resolve(value, key, class_name, layer_name, custom_objects):
    """The function (or object) a config value names; a clear error if it is unknown."""
    if value is None or callable(value):
        return value
    found = None
    if serialization.is_serialized_object(value):
        found = serialization.resolve_custom(value, custom_objects)
    elif isinstance(value, str):
        found = registry.custom_lookup([value], custom_objects)
    if found is None:
        name = _function_name(value)
        raise ValueError(
            f"Cannot rebuild {class_name} layer '{layer_name}': its `{key}` was saved by name "
            f"only ({name!r}), and nothing of that name was passed in `custom_objects` or "
            f"registered with `keras.saving.register_keras_serializable` (gazelle never runs "
            f"code from a file). Pass custom_objects={{{name!r}: ...}} to the loading "
            "function.")
    return found


class FlaxLayer(JaxLayer):
    """Wraps a `flax.linen.Module` as a layer (needs flax: `pip install flax`).

    The module's variables are the layer's weights: the `"params"` collection is
    trainable, every other collection (`"batch_stats"`, ...) is non-trainable state that
    the module may update during the call (`apply` runs with every collection but
    `"params"` mutable). In training the module gets a `"dropout"` key; at build time
    `"params"` and `"dropout"` keys.

    Args:
        module: the `flax.linen.Module` instance.
        method: the method used for both `init` and `apply`; `__call__` by default. A
            method of the module takes `self`; a plain function takes the module as its
            first argument. Its other arguments are `inputs` and optionally `training`.
        variables: the module's variables as `module.init` returns them (a dict with a
            `"params"` key and any other collections), to start from known values. If
            None, `module.init` makes them at build time.

    Saving: the config holds the module's own config (its class needs `get_config`) and
    the method's name; loading rebuilds both from `custom_objects` or registered objects.

    ```python
    class MLP(flax.linen.Module):
        @flax.linen.compact
        def __call__(self, inputs):
            return flax.linen.Dense(4)(flax.linen.relu(flax.linen.Dense(8)(inputs)))

    layer = keras.layers.FlaxLayer(MLP())
    layer(np.ones((2, 3), "float32")).shape        # (2, 4)
    ```
    """

    def __init__(self, module, method=None, variables=None, **kwargs):
        try:
            from flax import linen
        except ImportError:
            raise ImportError("FlaxLayer needs flax, which is not installed. Install it with "
                              "`pip install flax`.") from None
        if not isinstance(module, linen.Module):
            raise TypeError(f"FlaxLayer: `module` must be a flax.linen.Module instance, "
                            f"received {module!r} of type {type(module).__name__}.")
        if isinstance(method, str):
            method = getattr(module, method)
        if method is not None and not callable(method):
            raise TypeError(f"FlaxLayer: `method` must be a method of the module or a function "
                            f"taking the module, received {method!r}.")
        self.module = module
        self.method = method
        mutable = linen.DenyList(["params"])
        takes_training = "training" in inspect.signature(
            method if method is not None else module.__call__).parameters

        def merged(params, state):
            return {**(params or {}), **(state or {})}

        def call_with_training(params, state, rng, inputs, training):
            return self.module.apply(merged(params, state), inputs, rngs=rng,
                                     method=self.method, mutable=mutable, training=training)

        def call_without_training(params, state, rng, inputs):
            return self.module.apply(merged(params, state), inputs, rngs=rng,
                                     method=self.method, mutable=mutable)

        def init_with_training(rng, inputs, training):
            return _split_collections(self.module.init(rng, inputs, method=self.method,
                                                       training=training))

        def init_without_training(rng, inputs):
            return _split_collections(self.module.init(rng, inputs, method=self.method))

        params, state = _split_collections(variables)
        super().__init__(
            call_fn=call_with_training if takes_training else call_without_training,
            init_fn=init_with_training if takes_training else init_without_training,
            params=params, state=state, **kwargs)

    def _get_init_rng(self):
        return {"params": self._get_init_seed(), "dropout": self._get_init_seed()}

    def _get_call_rng(self, training):
        return {"dropout": self._get_call_seed()} if training else {}

    def get_config(self):
        if not hasattr(self.module, "get_config"):
            raise TypeError(
                f"FlaxLayer '{self.name}': its module (a {type(self.module).__name__}) cannot "
                "be saved: the module class needs a `get_config()` method (and to be "
                "registered with `keras.saving.register_keras_serializable` or passed in "
                "`custom_objects` when loading).")
        method = self.method
        if getattr(method, "__self__", None) is self.module:
            method = method.__name__            # a bound method is saved by its name
        config_ = Layer.get_config(self)
        config_.update({
            "native_serialization_platforms": self.native_serialization_platforms,
            "module": serialization.serialize_keras_object(self.module),
            "method": serialization.serialize_keras_object(method)})
        return config_

    @classmethod
    def from_config(cls, config_, custom_objects=None):
        """Rebuilds the layer; the module class and a method that is not the module's
        are looked up in `custom_objects`, a `CustomObjectScope` and the registered objects.

        Args:
            config_: the dict from `get_config`.
            custom_objects: optional dict name -> class or function.
        """
        config_ = dict(config_)
        module = config_.get("module")
        if isinstance(module, dict):
            found = serialization.resolve_custom(module, custom_objects)
            if found is None:
                name = module.get("registered_name") or module.get("class_name")
                raise ValueError(
                    f"Cannot rebuild FlaxLayer '{config_.get('name')}': its module class "
                    f"{name!r} is unknown. Pass it in custom_objects={{{name!r}: ...}} or "
                    "register it with `keras.saving.register_keras_serializable`.")
            config_["module"] = module = found
        method = config_.get("method")
        if isinstance(method, str):
            config_["method"] = getattr(module, method)
        elif method is not None:
            config_["method"] = _resolve(method, "method", cls.__name__, config_.get("name"),
                                         custom_objects)
        return cls(**config_)


def _split_collections(variables):
    """flax variables -> (params, state): `{"params": ...}` and the other collections."""
    if variables is None:
        return None, None
    variables = dict(variables)
    params = {"params": variables["params"]} if "params" in variables else {}
    state = {k: v for k, v in variables.items() if k != "params"}
    return params, state


__all__ = ["FlaxLayer", "JaxLayer"]
