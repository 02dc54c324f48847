"""Layer: the base class of every layer and model. [L2: core, activations, initializers]

A layer owns Variables (created in `build`) and sublayers. Both are found by walking the
instance attributes in insertion order, which gives Keras's weight order. `__call__`
casts inputs, builds on first use, checks the input spec, sets the `training` context,
and calls. `stateless_call` runs the same code as a pure function of the weight values.
"""
import contextvars
import functools
import inspect

import jax
import jax.numpy as jnp
import numpy as np

from gazelle import config
from gazelle.core import foreign, masks, naming, serialization, shapes, symbolic
from gazelle.core.variables import AllocationRefused, StatelessScope, Variable, to_device
from gazelle.random import SeedGenerator

_TRAINING = contextvars.ContextVar("gazelle_training", default=None)
# Bumped whenever any layer gains or loses a tracked attribute; `_tracked` caches its walk
# until then (predict on one sample would otherwise spend most of its time walking).
_STRUCTURE_VERSION = [0]
_UNTRACKED = frozenset({"_own_losses", "_inbound_nodes", "_outbound_nodes", "_tracked_cache"})


def structure_changed():
    _STRUCTURE_VERSION[0] += 1
_CALL_CONTEXT_DEPTH = contextvars.ContextVar("gazelle_call_depth", default=0)


def _accepts(fn, arg):
    try:
        params = inspect.signature(fn).parameters
    except (TypeError, ValueError):
        return False
    return arg in params or any(p.kind == p.VAR_KEYWORD for p in params.values())


def _shape_of(x):
    return tuple(x.shape)


_MASK_PARAMS = {}


def _mask_params(layer):
    """`(takes mask=, [(name, position), ...])` for `layer.call`: whether it names a `mask`
    parameter, and its arguments `x` that have an `x_mask` companion (Keras 3 fills
    `query_mask`/`value_mask` from the masks attached to `query`/`value`)."""
    cls = type(layer)
    found = _MASK_PARAMS.get(cls)
    if found is None:
        try:
            params = inspect.signature(layer.call).parameters
        except (TypeError, ValueError):
            params = {}
        positional = [n for n, p in params.items()
                      if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
        where = {n: i for i, n in enumerate(positional)}
        pairs = [(n, where.get(n), where.get(f"{n}_mask")) for n in params
                 if n != "mask" and f"{n}_mask" in params]
        found = ("mask" in params, pairs)
        _MASK_PARAMS[cls] = found
    return found


def _call_has_mask_arg(layer):
    """Whether `layer.call` names a `mask` parameter (Keras passes masks only then)."""
    return _mask_params(layer)[0]


def _fill_companion_masks(layer, args, kwargs):
    for name, position, mask_position in _mask_params(layer)[1]:
        if kwargs.get(f"{name}_mask") is not None or (
                mask_position is not None and mask_position < len(args)):
            continue
        if name in kwargs:
            value = kwargs[name]
        elif position is not None and position < len(args):
            value = args[position]
        else:
            continue
        found = _input_masks(value)
        if found is not None:
            kwargs[f"{name}_mask"] = found


def _input_masks(inputs):
    """The masks attached to the first call argument: one mask, a list of them, or None."""
    if isinstance(inputs, (list, tuple)):
        found = [masks.get_keras_mask(x) for x in inputs]
        return found if any(m is not None for m in found) else None
    return masks.get_keras_mask(inputs)


class Layer:
    """Base class of all layers: state (weights) plus a transformation (`call`).

    Args:
        trainable: whether the layer's weights are updated by `fit`.
        name: a string; unique per session by default (`"dense"`, `"dense_1"`, ...).
        dtype: the layer's compute and weight dtype (default `"float32"`).
        input_shape: shape of the inputs without the batch dimension; on the first
            layer of a Sequential model this builds the model right away.

    A custom layer:

    ```python
    class Linear(keras.layers.Layer):
        def __init__(self, units=32, **kwargs):
            super().__init__(**kwargs)
            self.units = units

        def build(self, input_shape):
            self.w = self.add_weight(shape=(input_shape[-1], self.units),
                                     initializer="glorot_uniform", name="kernel")

        def call(self, inputs):
            return inputs @ self.w
    ```
    """

    # tf.data's autograph calls a layer as it is (core/foreign.py runs it on NumPy).
    autograph_info__ = None

    # Inputs of these dtypes are cast to the layer's dtype (uint8 images, float64 numpy).
    _cast_inputs = True

    # Keras's `input_spec`: an InputSpec (or a structure of them) that a layer may set in
    # `__init__` or `build`; calls then check their first argument against it.
    input_spec = None

    def __init__(self, *, trainable=True, name=None, dtype=None, input_shape=None,
                 batch_input_shape=None, input_dim=None, batch_size=None,
                 activity_regularizer=None, autocast=True, **kwargs):
        if kwargs:
            raise TypeError(
                f"{type(self).__name__}: unexpected keyword argument(s) {sorted(kwargs)}.")
        if name is not None and not isinstance(name, str):
            raise TypeError(f"{type(self).__name__}: `name` must be a string, received {name!r}.")
        self.name = name or naming.uniquify(naming.to_snake_case(type(self).__name__))
        self._trainable = bool(trainable)
        self._dtype = _standardize_dtype(dtype)
        self.built = False
        self._inbound_nodes = []
        self._own_losses = []
        self.activity_regularizer = activity_regularizer
        if input_dim is not None and input_shape is None:
            input_shape = (input_dim,)
        if batch_input_shape is not None:
            self._batch_input_shape = shapes.standardize_shape(batch_input_shape, "batch_input_shape")
        elif input_shape is not None:
            self._batch_input_shape = (batch_size,) + shapes.standardize_shape(
                input_shape, f"{type(self).__name__} input_shape")
        else:
            self._batch_input_shape = None
        self._build_shapes = None

    # -- config ------------------------------------------------------------------
    def get_config(self):
        """Returns the layer's constructor arguments as a JSON-friendly dict."""
        config_ = {"name": self.name, "trainable": self.trainable, "dtype": self._dtype}
        if self._batch_input_shape is not None:
            config_["batch_input_shape"] = self._batch_input_shape
        return config_

    @classmethod
    def from_config(cls, config_):
        """Creates a layer from the dict that `get_config` returned."""
        return cls(**config_)

    @property
    def dtype(self):
        return self._dtype

    @property
    def compute_dtype(self):
        return self._dtype

    @property
    def input_dtype(self):
        return self._dtype

    # -- the symbolic graph --------------------------------------------------------
    @property
    def input(self):
        """The symbolic input(s) of the first call of this layer on `keras.Input` tensors
        (a list when there are several), as in Keras."""
        return self._first_node_tensors("input")

    @property
    def output(self):
        """The symbolic output(s) of the first call of this layer on `keras.Input` tensors
        (a list when there are several): `keras.Model(base.input, layer.output)` builds a
        feature extractor."""
        return self._first_node_tensors("output")

    def _first_node_tensors(self, what):
        if not self._inbound_nodes:
            owner = self.__dict__.get("_sequential_owner")
            owner = owner() if owner is not None else None
            if owner is not None and owner.built:
                owner._symbolic_graph()         # a built Sequential's layers get their nodes
        if not self._inbound_nodes:
            raise AttributeError(
                f"The layer {self.name} has never been called and thus has no defined "
                f"{what}. Call it on a symbolic input first (y = layer(keras.Input(shape=...)))"
                ", or give its Sequential model an input shape (keras.Input(shape=...) as "
                "its first item).")
        node = self._inbound_nodes[0]
        if what == "input":
            values = list(node.input_tensors)
        else:
            values = [t for t in jax.tree_util.tree_leaves(node.outputs, is_leaf=symbolic.is_symbolic)
                      if symbolic.is_symbolic(t)]
        return values[0] if len(values) == 1 else values

    # -- tracking ----------------------------------------------------------------
    def __setattr__(self, name, value):
        if name not in _UNTRACKED and isinstance(
                value, (Variable, Layer, SeedGenerator, list, tuple, dict)):
            structure_changed()
        object.__setattr__(self, name, value)

    def _tracked(self):
        """Variables, SeedGenerators and sublayers found in attributes, in order, once each."""
        cache = self.__dict__.get("_tracked_cache")
        if cache is not None and cache[0] == _STRUCTURE_VERSION[0]:
            return list(cache[1])
        found, seen = [], set()

        def visit(obj, depth):
            if isinstance(obj, (Variable, Layer, SeedGenerator)):
                if id(obj) not in seen and obj is not self:
                    seen.add(id(obj))
                    found.append(obj)
            elif depth < 3 and isinstance(obj, (list, tuple)):
                for item in obj:
                    visit(item, depth + 1)
            elif depth < 3 and isinstance(obj, dict):
                for item in obj.values():
                    visit(item, depth + 1)

        for key, value in vars(self).items():
            if key not in _UNTRACKED:
                visit(value, 0)
        self.__dict__["_tracked_cache"] = (_STRUCTURE_VERSION[0], found)
        return list(found)

    @property
    def _layers(self):
        return [o for o in self._tracked() if isinstance(o, Layer)]

    def _flatten_layers(self, include_self=True):
        out = [self] if include_self else []
        for layer in self._layers:
            out.extend(layer._flatten_layers(include_self=True))
        return out

    def _own_variables(self):
        return [o for o in self._tracked() if isinstance(o, Variable)]

    def _seed_variables(self):
        own = [o.state for o in self._tracked() if isinstance(o, SeedGenerator)]
        return own + [v for layer in self._layers for v in layer._seed_variables()]

    @property
    def trainable(self):
        return self._trainable

    @trainable.setter
    def trainable(self, value):
        self._trainable = bool(value)
        for layer in self._layers:
            layer.trainable = value

    @property
    def weights(self):
        """All weights: this layer's own (trainable first), then each sublayer's."""
        own = self._own_variables()
        out = [v for v in own if v.trainable] + [v for v in own if not v.trainable]
        for layer in self._layers:
            out.extend(layer.weights)
        return _dedup(out)

    @property
    def trainable_weights(self):
        if not self.trainable:
            return []
        out = [v for v in self._own_variables() if v.trainable]
        for layer in self._layers:
            out.extend(layer.trainable_weights)
        return _dedup(out)

    @property
    def non_trainable_weights(self):
        if not self.trainable:
            return self.weights
        out = [v for v in self._own_variables() if not v.trainable]
        for layer in self._layers:
            out.extend(layer.non_trainable_weights)
        return _dedup(out)

    # Keras 3 names: *_variables also include random-seed state (not saved as weights).
    @property
    def trainable_variables(self):
        return self.trainable_weights

    @property
    def non_trainable_variables(self):
        return _dedup(self.non_trainable_weights + self._seed_variables())

    @property
    def variables(self):
        return _dedup(self.weights + self._seed_variables())

    def add_weight(self, shape=None, initializer=None, dtype=None, trainable=True,
                   regularizer=None, constraint=None, name=None, **kwargs):
        """Creates a weight Variable tracked by this layer.

        Args:
            shape: the weight's shape (default `()`).
            initializer: name, Initializer or callable; default `"glorot_uniform"` for
                float weights (as Keras), `"zeros"` otherwise.
            dtype: weight dtype (default the layer's dtype).
            trainable: whether `fit` updates it.
            regularizer: optional regularizer whose penalty is added to the loss.
            constraint: optional callable applied after each optimizer update.
            name: the weight's name, e.g. `"kernel"`.
        """
        from gazelle import constraints, initializers
        unknown = set(kwargs) - {"autocast", "aggregation", "synchronization", "use_resource"}
        if unknown:
            raise TypeError(f"add_weight: unexpected keyword argument(s) {sorted(unknown)}.")
        shape = shapes.standardize_shape(() if shape is None else shape,
                                         f"{self.name}.add_weight shape")
        dtype = jnp.dtype(dtype or self._dtype).name
        if initializer is None:
            initializer = "glorot_uniform" if jnp.issubdtype(dtype, jnp.floating) else "zeros"
        init = initializers.get(initializer)
        try:
            with jax.ensure_compile_time_eval():
                variable = Variable(init, shape=shape, dtype=dtype, trainable=trainable,
                                    name=name or "variable")
        except AllocationRefused as e:
            raise AllocationRefused(f"Layer '{self.name}': {e}") from None
        variable.path = f"{self.name}/{variable.name}"
        variable.regularizer = regularizer
        variable.constraint = constraints.get(constraint)   # names, configs, objects
        # Keep weights created through add_weight in a list attribute so they are tracked
        # even when the caller does not store them.
        self.__dict__.setdefault("_added_weights", []).append(variable)
        structure_changed()
        return variable

    def count_params(self):
        """The number of scalars in this layer's weights."""
        if not self.built:
            raise ValueError(
                f"You tried to call `count_params` on layer '{self.name}', but the layer isn't "
                "built. Build it first, e.g. by calling it on data or with `build(input_shape)`.")
        return int(sum(np.prod(v.shape, dtype=np.int64) for v in self.weights))

    def get_weights(self):
        """Returns the weights as a list of numpy arrays (order of `weights`)."""
        return [np.asarray(v.value) for v in self.weights]

    def set_weights(self, weights):
        """Sets the weights from a list of numpy arrays (order of `weights`)."""
        params = self.weights
        weights = list(weights)
        if len(params) != len(weights):
            raise ValueError(
                f"Layer '{self.name}' expects {len(params)} weight arrays, "
                f"received {len(weights)}.")
        for v, w in zip(params, weights):
            w = np.asarray(w)
            if tuple(w.shape) != tuple(v.shape):
                raise ValueError(
                    f"Layer '{self.name}' weight '{v.name}' has shape {v.shape}; received an "
                    f"array of shape {tuple(w.shape)}.")
        for v, w in zip(params, weights):
            v.assign(w)

    @property
    def losses(self):
        """Regularization penalties of this layer and its sublayers (scalars)."""
        out = []
        for layer in self._flatten_layers():
            for v in layer._own_variables():
                reg = getattr(v, "regularizer", None)
                if reg is not None and v.trainable:
                    out.append(reg(v.value))
            out.extend(layer._own_losses)
        return out

    def add_loss(self, loss):
        """Adds a loss term (a scalar) to be included in the training loss of this call."""
        self._own_losses.append(loss)

    def __init_subclass__(cls, **kwargs):
        # A subclass's own build() marks the layer built, as Keras does, so calling
        # `layer.build(shape)` by hand and then the layer keeps the weights it made.
        super().__init_subclass__(**kwargs)
        build = cls.__dict__.get("build")
        if build is not None and not getattr(build, "_marks_built", False):
            @functools.wraps(build)
            def build_and_mark(self, *args, **kw):
                result = build(self, *args, **kw)
                if self.__dict__.get("_build_shapes") is None and args:
                    shape = args[0]
                    if serialization.is_shape(shape):
                        self._build_shapes = [tuple(shape)]
                    elif isinstance(shape, (list, tuple)) and shape and all(
                            serialization.is_shape(s) for s in shape):
                        self._build_shapes = [tuple(s) for s in shape]
                self.built = True
                return result
            build_and_mark._marks_built = True
            cls.build = build_and_mark

    # -- build / call ------------------------------------------------------------
    def build(self, input_shape=None):
        """Creates the weights for inputs of `input_shape`. Override in subclasses."""
        self.built = True

    def _maybe_build(self, input_shapes):
        if self.built:
            return
        if type(self).build is not Layer.build:
            arg = input_shapes[0] if len(input_shapes) == 1 else list(input_shapes)
            # Weights are concrete arrays even when the first call happens under a trace.
            with jax.ensure_compile_time_eval():
                self.build(arg)
        self._build_shapes = input_shapes
        self.built = True

    def call(self, inputs, *args, **kwargs):
        """The layer's computation. Override in subclasses."""
        return inputs

    def _check_input(self, inputs):
        pass

    def _check_input_spec(self, inputs, input_shapes):
        """Keras's check of `input_spec`: before building and, when this call builds, again
        after (`build` may set or change the spec)."""
        from gazelle.layers.input_spec import assert_input_compatibility
        assert_input_compatibility(self.input_spec, inputs, self.name)
        if not self.built:
            self._maybe_build(input_shapes)
            if self.input_spec is not None:
                assert_input_compatibility(self.input_spec, inputs, self.name)

    def _cast(self, x):
        if not self._cast_inputs:
            return x
        if isinstance(x, (np.ndarray, jax.Array, np.generic, float, int)) or hasattr(x, "dtype"):
            dtype = getattr(x, "dtype", None)
            if dtype is None or jnp.issubdtype(dtype, jnp.number) or jnp.issubdtype(dtype, jnp.bool_):
                if dtype is None or jnp.dtype(dtype) != jnp.dtype(self._dtype):
                    return to_device(x, self._dtype)
                return to_device(x) if isinstance(x, np.ndarray) else x
        return x

    def __call__(self, *args, **kwargs):
        if not args:
            raise TypeError(f"Layer '{self.name}' was called without inputs.")
        if symbolic.any_symbolic((args, kwargs)):
            return self._symbolic_call(args, kwargs)
        if foreign.has_tf_tensor(args):         # inside tf.data: run through numpy_function
            return foreign.call_with_tf(self, args, kwargs)
        previous_mask = kwargs.get("mask")
        if previous_mask is None:
            # Read before casting: a cast makes a new array, which carries no mask.
            previous_mask = _input_masks(args[0])
            if previous_mask is not None and _call_has_mask_arg(self):
                kwargs["mask"] = previous_mask
        _fill_companion_masks(self, args, kwargs)
        inputs = jax.tree_util.tree_map(self._cast, args[0])
        args = (inputs,) + args[1:]
        leaves = jax.tree_util.tree_leaves(inputs)
        input_shapes = [_shape_of(x) for x in leaves]
        if self.input_spec is None:
            self._maybe_build(input_shapes)
        if self.input_spec is not None:
            self._check_input_spec(inputs, input_shapes)
        self._check_input(inputs)
        training = kwargs.pop("training", None)
        token = None
        if training is not None:
            token = _TRAINING.set(bool(training))
        depth = _CALL_CONTEXT_DEPTH.get()
        if depth == 0:          # an outermost call starts with no collected losses
            for layer in self._flatten_layers():
                layer._own_losses = []
        depth_token = _CALL_CONTEXT_DEPTH.set(depth + 1)
        try:
            if _accepts(self.call, "training"):
                kwargs["training"] = _TRAINING.get()
            outputs = self.call(*args, **kwargs)
            if self.supports_masking:
                self._set_mask_metadata(inputs, outputs, previous_mask)
            if self.activity_regularizer is not None:
                for out in jax.tree_util.tree_leaves(outputs):
                    self.add_loss(self.activity_regularizer(out))
        finally:
            _CALL_CONTEXT_DEPTH.reset(depth_token)
            if token is not None:
                _TRAINING.reset(token)
        return outputs

    # -- masking (Keras 3's conventions) --------------------------------------------
    @property
    def supports_masking(self):
        """Whether the layer attaches a mask to its outputs (by `compute_mask`).

        True by default when the class overrides `compute_mask`; a layer may set it.
        """
        value = self.__dict__.get("_supports_masking")
        if value is None:
            return type(self).compute_mask is not Layer.compute_mask
        return value

    @supports_masking.setter
    def supports_masking(self, value):
        self.__dict__["_supports_masking"] = bool(value)

    def compute_mask(self, inputs, mask=None):
        """The mask of the outputs for `inputs` with `mask` (default: `mask` unchanged)."""
        return mask

    def _set_mask_metadata(self, inputs, outputs, previous_mask):
        flat = jax.tree_util.tree_leaves(outputs)
        if not flat or all(masks.get_keras_mask(x) is not None for x in flat):
            return
        output_mask = self.compute_mask(inputs, previous_mask)
        if output_mask is None:
            return
        flat_masks = (list(output_mask) if isinstance(output_mask, (list, tuple))
                      else [output_mask])
        for x, m in zip(flat, flat_masks):
            if m is not None and masks.get_keras_mask(x) is None:
                masks.set_keras_mask(x, m)

    def _symbolic_call(self, args, kwargs):
        leaves = [t for t in jax.tree_util.tree_leaves(args[0], is_leaf=symbolic.is_symbolic)]
        if self.input_spec is None:
            self._maybe_build([t.shape for t in leaves])
        if self.input_spec is not None:
            self._check_input_spec(args[0], [t.shape for t in leaves])
        more = [t for t in jax.tree_util.tree_leaves((args[1:], kwargs), is_leaf=symbolic.is_symbolic)
                if symbolic.is_symbolic(t)]
        if more and type(self).compute_output_shape is Layer.compute_output_shape:
            # Several tensor arguments (an endpoint layer's `call(targets, logits)`): the
            # shapes come from running call on all of them.
            out_shapes = self._shapes_of_call(args, kwargs)
        else:
            out_shapes = self.compute_output_shape(
                leaves[0].shape if len(leaves) == 1 else [t.shape for t in leaves])
        single = isinstance(out_shapes, tuple) and all(
            d is None or isinstance(d, int) for d in out_shapes)
        if single:
            outputs = symbolic.SymbolicTensor(out_shapes, self._dtype, name=self.name)
        else:
            outputs = jax.tree_util.tree_map(
                lambda s: symbolic.SymbolicTensor(s, self._dtype, name=self.name), out_shapes,
                is_leaf=lambda s: isinstance(s, tuple) and all(
                    d is None or isinstance(d, int) for d in s))
        node = symbolic.Node(self, args, kwargs, outputs)
        for i, t in enumerate(jax.tree_util.tree_leaves(outputs, is_leaf=symbolic.is_symbolic)):
            t.node, t.index = node, i
        return outputs

    def _shapes_of_call(self, args, kwargs):
        """Output shape(s) of calling the layer on symbolic `args` and `kwargs`, every
        tensor among them traced (`compute_output_shape` sees only the first argument)."""
        kwargs = {k: v for k, v in kwargs.items() if k != "training"}
        flat, tree = jax.tree_util.tree_flatten((args, kwargs), is_leaf=symbolic.is_symbolic)
        where = [i for i, t in enumerate(flat) if symbolic.is_symbolic(t)]
        tensors = [flat[i] for i in where]
        self._maybe_build([tuple(t.shape) for t in jax.tree_util.tree_leaves(
            args[0], is_leaf=symbolic.is_symbolic) if symbolic.is_symbolic(t)])
        variables = self.variables
        values = [v.value for v in variables]

        def fn(*xs):
            items = list(flat)
            for i, x in zip(where, xs):
                items[i] = x
            call_args, call_kwargs = jax.tree_util.tree_unflatten(tree, items)
            with StatelessScope(zip(variables, values)):
                return self(*call_args, training=False, **call_kwargs)

        return shapes.output_shape(fn, [tuple(t.shape) for t in tensors],
                                   [t.dtype for t in tensors])

    def compute_output_shape(self, input_shape):
        """Output shape for `input_shape` (None for unknown dims), inferred without computing."""
        multi = isinstance(input_shape, list)
        in_shapes = [tuple(s) for s in input_shape] if multi else [tuple(input_shape)]
        self._maybe_build(in_shapes)
        # One list for both: sublayers built lazily inside the first trace add variables
        # that a second `self.variables` would pair with the wrong values.
        variables = self.variables
        values = [v.value for v in variables]

        def fn(*xs):
            with StatelessScope(zip(variables, values)):
                return self(list(xs) if multi else xs[0], training=False)

        dtypes = [self._dtype if self._cast_inputs else "int32"] * len(in_shapes)
        return shapes.output_shape(fn, in_shapes, dtypes)

    def stateless_call(self, trainable_variables, non_trainable_variables, *args,
                       return_losses=False, **kwargs):
        """Calls the layer as a pure function of weight values.

        Args:
            trainable_variables: values for `self.trainable_variables`, in order.
            non_trainable_variables: values for `self.non_trainable_variables`.
            *args, **kwargs: the call's inputs and arguments.
            return_losses: also return the regularization losses of this call.

        Returns:
            `(outputs, non_trainable_values)` (plus `losses` when asked).
        """
        trainable = self.trainable_variables
        non_trainable = self.non_trainable_variables
        mapping = list(zip(trainable, trainable_variables)) + list(
            zip(non_trainable, non_trainable_variables))
        with StatelessScope(mapping) as scope:
            outputs = self(*args, **kwargs)
            losses = self.losses if return_losses else None
            for layer in self._flatten_layers():
                layer._own_losses = []
        new_non_trainable = []
        for v, old in zip(non_trainable, non_trainable_variables):
            new = scope.get_current_value(v)
            new_non_trainable.append(old if new is None else new)
        if return_losses:
            return outputs, new_non_trainable, losses
        return outputs, new_non_trainable

    # -- shapes for summary() ------------------------------------------------------
    @property
    def input_shape(self):
        if self._build_shapes is None:
            if self._batch_input_shape is not None:
                return self._batch_input_shape
            raise AttributeError(f"Layer '{self.name}' has not been built: no input shape yet.")
        s = self._build_shapes
        return s[0] if len(s) == 1 else list(s)

    @property
    def output_shape(self):
        shape = getattr(self, "_output_shape", None)
        if shape is None:
            if not self.built:
                raise AttributeError(
                    f"Layer '{self.name}' has not been built: its output shape is unknown.")
            in_shape = self.input_shape
            shape = self.compute_output_shape(in_shape)
        return shape

    def __repr__(self):
        return f"<{type(self).__name__} name={self.name}, built={self.built}>"


def _standardize_dtype(dtype):
    """A dtype's name; "string" (Keras's name for text inputs, also `str`) stays "string"."""
    if dtype in ("string", "str", str):
        return "string"
    return jnp.dtype(dtype or config.floatx()).name


def _dedup(variables):
    seen, out = set(), []
    for v in variables:
        if id(v) not in seen:
            seen.add(id(v))
            out.append(v)
    return out


serialization.register_layer_base(Layer)
