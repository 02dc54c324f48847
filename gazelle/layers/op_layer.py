"""OpLayer: a `keras.ops` call on Functional-API placeholders, kept as a graph node. [L2]

In Keras 3, `keras.ops.concatenate([a, b])`, `x * 2.0` or `x[:, 0]` on `keras.Input` tensors
record an operation in the Functional graph. gazelle does the same: every op in
`gazelle.ops` (see `record_symbolic_calls` in gazelle/ops/_common.py) hands such a call to
`record`, which makes a small OpLayer for it; the model replays it like any layer.

A `.keras` file stores the op as Keras 3 does: an entry whose `module` is
`keras.src.ops.<family>` and whose `class_name` is Keras's op class (`Concatenate`,
`Multiply`, `GetItem`, ...), the op's settings in `config` and its tensor arguments in the
node. `_KERAS_OPS` says, for each op, which arguments go where; an op outside it (or called
with arguments Keras cannot write) runs fine but refuses to be saved, with a message.
"""
import inspect

import jax
import jax.numpy as jnp
import numpy as np

from gazelle.core import naming, registry, serialization, symbolic
from gazelle.layers.layer import Layer
from gazelle.ops import _common

# op -> "family KerasClass call-args call-kwargs settings" (comma-separated, "-" for none):
# how Keras 3's op class splits the function's arguments between its constructor
# (`config`) and its call (the node's args and kwargs); `*name`: the function's varargs.
_KERAS_OPS = {
    "absolute": "numpy Absolute x - -",
    "adaptive_average_pool": "nn AdaptiveAveragePool inputs - output_size,data_format",
    "adaptive_max_pool": "nn AdaptiveMaxPool inputs - output_size,data_format",
    "add": "numpy Add x1,x2 - -",
    "affine_transform": ("image AffineTransform images,transform - interpolation,fill_mode,fill_value,"
        "data_format"),
    "all": "numpy All x - axis,keepdims",
    "allclose": "numpy AllClose x1,x2 - rtol,atol,equal_nan",
    "amax": "numpy Amax x - axis,keepdims",
    "amin": "numpy Amin x - axis,keepdims",
    "angle": "numpy Angle x - -",
    "any": "numpy Any x - axis,keepdims",
    "append": "numpy Append x1,x2 - axis",
    "arange": "numpy Arange start,stop step dtype",
    "arccos": "numpy Arccos x - -",
    "arccosh": "numpy Arccosh x - -",
    "arcsin": "numpy Arcsin x - -",
    "arcsinh": "numpy Arcsinh x - -",
    "arctan": "numpy Arctan x - -",
    "arctan2": "numpy Arctan2 x1,x2 - -",
    "arctanh": "numpy Arctanh x - -",
    "argmax": "numpy Argmax x - axis,keepdims",
    "argmin": "numpy Argmin x - axis,keepdims",
    "argpartition": "numpy Argpartition x - kth,axis",
    "argsort": "numpy Argsort x - axis",
    "array": "numpy Array x - dtype",
    "array_split": "numpy ArraySplit x - indices_or_sections,axis",
    "associative_scan": "core AssociativeScan f,elems - reverse,axis",
    "average": "numpy Average x weights axis",
    "average_pool": "nn AveragePool inputs - pool_size,strides,padding,data_format",
    "batch_normalization": "nn BatchNorm x,mean,variance,offset,scale - axis,epsilon",
    "binary_crossentropy": "nn BinaryCrossentropy target,output - from_logits",
    "bincount": "numpy Bincount x - weights,minlength,sparse",
    "bitwise_and": "numpy BitwiseAnd x,y - -",
    "bitwise_invert": "numpy BitwiseInvert x - -",
    "bitwise_left_shift": "numpy BitwiseLeftShift x,y - -",
    "bitwise_not": "numpy BitwiseNot x - -",
    "bitwise_or": "numpy BitwiseOr x,y - -",
    "bitwise_right_shift": "numpy BitwiseRightShift x,y - -",
    "bitwise_xor": "numpy BitwiseXor x,y - -",
    "broadcast_to": "numpy BroadcastTo x - shape",
    "cast": "core Cast x - dtype",
    "categorical_crossentropy": "nn CategoricalCrossentropy target,output - from_logits,axis",
    "cbrt": "numpy Cbrt x - -",
    "cdist": "math CDist x,y - -",
    "ceil": "numpy Ceil x - -",
    "celu": "nn Celu x - alpha",
    "cholesky": "linalg Cholesky x - upper",
    "cholesky_inverse": "linalg CholeskyInverse x - upper",
    "clip": "numpy Clip x - x_min,x_max",
    "concatenate": "numpy Concatenate xs - axis",
    "conjugate": "numpy Conjugate x - -",
    "conv": "nn Conv inputs,kernel - strides,padding,data_format,dilation_rate",
    "conv_transpose": ("nn ConvTranspose inputs,kernel - strides,padding,output_padding,data_format,"
        "dilation_rate"),
    "copy": "numpy Copy x - -",
    "corrcoef": "numpy Corrcoef x - -",
    "correlate": "numpy Correlate x1,x2 - mode",
    "cos": "numpy Cos x - -",
    "cosh": "numpy Cosh x - -",
    "count_nonzero": "numpy CountNonzero x - axis",
    "crop_images": ("image CropImages images - top_cropping,left_cropping,bottom_cropping,"
        "right_cropping,target_height,target_width,data_format"),
    "cross": "numpy Cross x1,x2 - axisa,axisb,axisc,axis",
    "ctc_decode": ("nn CTCDecode inputs,sequence_lengths - strategy,beam_width,top_paths,"
        "merge_repeated,mask_index"),
    "ctc_loss": "nn CTCLoss target,output,target_length,output_length - mask_index",
    "cumprod": "numpy Cumprod x - axis,dtype",
    "cumsum": "numpy Cumsum x - axis,dtype",
    "deg2rad": "numpy Deg2rad x - -",
    "depth_to_space": "nn DepthToSpace x - block_size,data_format",
    "depthwise_conv": "nn DepthwiseConv inputs,kernel - strides,padding,data_format,dilation_rate",
    "det": "linalg Det x - -",
    "diag": "numpy Diag x - k",
    "diagflat": "numpy Diagflat x - k",
    "diagonal": "numpy Diagonal x - offset,axis1,axis2",
    "digitize": "numpy Digitize x,bins - -",
    "divide": "numpy Divide x1,x2 - -",
    "divide_no_nan": "numpy DivideNoNan x1,x2 - -",
    "dot": "numpy Dot x1,x2 - -",
    "dot_product_attention": ("nn DotProductAttention query,key,value bias,mask,scale is_causal,"
        "flash_attention,attn_logits_soft_cap"),
    "dsplit": "numpy Dsplit x - indices_or_sections",
    "dstack": "numpy Dstack xs - -",
    "eig": "linalg Eig x - -",
    "eigh": "linalg Eigh x - -",
    "einsum": "numpy Einsum *operands - subscripts",
    "elastic_transform": ("image ElasticTransform images - alpha,sigma,interpolation,fill_mode,"
        "fill_value,seed,data_format"),
    "elu": "nn Elu x - alpha",
    "empty_like": "numpy EmptyLike x - dtype",
    "equal": "numpy Equal x1,x2 - -",
    "erf": "math Erf x - -",
    "erfc": "math Erfc x - -",
    "erfinv": "math Erfinv x - -",
    "exp": "numpy Exp x - -",
    "exp2": "numpy Exp2 x - -",
    "expand_dims": "numpy ExpandDims x - axis",
    "expm1": "numpy Expm1 x - -",
    "extract_patches": ("image ExtractPatches images - size,strides,dilation_rate,padding,data_format"),
    "extract_sequences": "math ExtractSequences x - sequence_length,sequence_stride",
    "fabs": "numpy Fabs x - -",
    "fft": "math FFT x - -",
    "fft2": "math FFT2 x - -",
    "flip": "numpy Flip x - axis",
    "fliplr": "numpy Fliplr x - -",
    "flipud": "numpy Flipud x - -",
    "floor": "numpy Floor x - -",
    "floor_divide": "numpy FloorDivide x1,x2 - -",
    "fmax": "numpy Fmax x1,x2 - -",
    "fmin": "numpy Fmin x1,x2 - -",
    "fmod": "numpy Fmod x1,x2 - -",
    "fold": "nn Fold x - output_size,kernel_size,dilation,padding,stride",
    "fori_loop": "core ForiLoop init_val - lower,upper,body_fun",
    "full": "numpy Full fill_value - shape,dtype",
    "full_like": "numpy FullLike x,fill_value - dtype",
    "gaussian_blur": "image GaussianBlur images - kernel_size,sigma,data_format",
    "gcd": "numpy Gcd x1,x2 - -",
    "gelu": "nn Gelu x - approximate",
    "get_item": "numpy GetItem x,key - -",
    "glu": "nn Glu x - axis",
    "greater": "numpy Greater x1,x2 - -",
    "greater_equal": "numpy GreaterEqual x1,x2 - -",
    "hard_shrink": "nn HardShrink x - threshold",
    "hard_sigmoid": "nn HardSigmoid x - -",
    "hard_silu": "nn HardSilu x - -",
    "hard_tanh": "nn HardTanh x - -",
    "heaviside": "numpy Heaviside x1,x2 - -",
    "histogram": "numpy Histogram x - bins,range",
    "hsplit": "numpy Hsplit x - indices_or_sections",
    "hstack": "numpy Hstack xs - -",
    "hsv_to_rgb": "image HSVToRGB images - data_format",
    "hypot": "numpy Hypot x1,x2 - -",
    "i0": "numpy I0 x - -",
    "ifft2": "math IFFT2 x - -",
    "imag": "numpy Imag x - -",
    "in_top_k": "math InTopK targets,predictions - k",
    "inner": "numpy Inner x1,x2 - -",
    "inv": "linalg Inv x - -",
    "irfft": "math IRFFT x - fft_length",
    "isclose": "numpy Isclose x1,x2,rtol,atol - equal_nan",
    "isfinite": "numpy Isfinite x - -",
    "isin": "numpy IsIn x1,x2 - assume_unique,invert",
    "isinf": "numpy Isinf x - -",
    "isnan": "numpy Isnan x - -",
    "isneginf": "numpy Isneginf x - -",
    "isposinf": "numpy Isposinf x - -",
    "isreal": "numpy Isreal x - -",
    "istft": "math ISTFT x - sequence_length,sequence_stride,fft_length,length,window,center",
    "jvp": "linalg JVP fun,primals,tangents - has_aux",
    "kron": "numpy Kron x1,x2 - -",
    "lcm": "numpy Lcm x1,x2 - -",
    "ldexp": "numpy Ldexp x1,x2 - -",
    "leaky_relu": "nn LeakyRelu x - negative_slope",
    "left_shift": "numpy LeftShift x,y - -",
    "less": "numpy Less x1,x2 - -",
    "less_equal": "numpy LessEqual x1,x2 - -",
    "log": "numpy Log x - -",
    "log10": "numpy Log10 x - -",
    "log1p": "numpy Log1p x - -",
    "log2": "numpy Log2 x - -",
    "log_sigmoid": "nn LogSigmoid x - -",
    "log_softmax": "nn LogSoftmax x - axis",
    "logaddexp": "numpy Logaddexp x1,x2 - -",
    "logaddexp2": "numpy Logaddexp2 x1,x2 - -",
    "logdet": "math Logdet x - -",
    "logical_and": "numpy LogicalAnd x1,x2 - -",
    "logical_not": "numpy LogicalNot x - -",
    "logical_or": "numpy LogicalOr x1,x2 - -",
    "logical_xor": "numpy LogicalXor x1,x2 - -",
    "logsumexp": "math Logsumexp x - axis,keepdims",
    "lstsq": "linalg Lstsq a,b - rcond",
    "lu_factor": "linalg LuFactor x - -",
    "map": "core Map f,xs - -",
    "map_coordinates": "image MapCoordinates inputs,coordinates - order,fill_mode,fill_value",
    "matmul": "numpy Matmul x1,x2 - -",
    "matrix_rank": "linalg MatrixRank x - tol",
    "max": "numpy Max x - axis,keepdims,initial",
    "max_pool": "nn MaxPool inputs - pool_size,strides,padding,data_format",
    "maximum": "numpy Maximum x1,x2 - -",
    "mean": "numpy Mean x - axis,keepdims",
    "median": "numpy Median x - axis,keepdims",
    "meshgrid": "numpy Meshgrid *x - indexing",
    "min": "numpy Min x - axis,keepdims,initial",
    "minimum": "numpy Minimum x1,x2 - -",
    "mod": "numpy Mod x1,x2 - -",
    "moments": "nn Moments x - axes,keepdims,synchronized",
    "moveaxis": "numpy Moveaxis x - source,destination",
    "multi_hot": "nn MultiHot inputs - num_classes,axis,dtype,sparse",
    "multiply": "numpy Multiply x1,x2 - -",
    "nan_to_num": "numpy NanToNum x - nan,posinf,neginf",
    "nanargmax": "numpy Nanargmax x - axis,keepdims",
    "nanargmin": "numpy Nanargmin x - axis,keepdims",
    "nancumprod": "numpy Nancumprod x - axis,dtype",
    "nancumsum": "numpy Nancumsum x - axis,dtype",
    "nanmax": "numpy Nanmax x - axis,keepdims",
    "nanmean": "numpy Nanmean x - axis,keepdims",
    "nanmedian": "numpy Nanmedian x - axis,keepdims",
    "nanmin": "numpy Nanmin x - axis,keepdims",
    "nanpercentile": "numpy Nanpercentile x,q - axis,method,keepdims",
    "nanprod": "numpy Nanprod x - axis,keepdims",
    "nanquantile": "numpy Nanquantile x,q - axis,method,keepdims",
    "nanstd": "numpy Nanstd x - axis,keepdims",
    "nansum": "numpy Nansum x - axis,keepdims",
    "nanvar": "numpy Nanvar x - axis,keepdims",
    "ndim": "numpy Ndim x - -",
    "negative": "numpy Negative x - -",
    "nextafter": "numpy Nextafter x1,x2 - -",
    "nonzero": "numpy Nonzero x - -",
    "norm": "linalg Norm x - ord,axis,keepdims",
    "normalize": "nn Normalize x - axis,order,epsilon",
    "not_equal": "numpy NotEqual x1,x2 - -",
    "one_hot": "nn OneHot x - num_classes,axis,dtype,sparse",
    "ones_like": "numpy OnesLike x - dtype",
    "outer": "numpy Outer x1,x2 - -",
    "pad_images": ("image PadImages images - top_padding,left_padding,bottom_padding,"
        "right_padding,target_height,target_width,data_format"),
    "percentile": "numpy Percentile x,q - axis,method,keepdims",
    "perspective_transform": ("image PerspectiveTransform images,start_points,end_points - interpolation,"
        "fill_value,data_format"),
    "pinv": "linalg Pinv x - rcond",
    "polar": "nn Polar abs_,angle - -",
    "power": "numpy Power x1,x2 - -",
    "prod": "numpy Prod x - axis,keepdims,dtype",
    "psnr": "nn PSNR x1,x2 - max_val",
    "ptp": "numpy Ptp x - axis,keepdims",
    "qr": "linalg Qr x - mode",
    "quantile": "numpy Quantile x,q - axis,method,keepdims",
    "rad2deg": "numpy Rad2deg x - -",
    "ravel": "numpy Ravel x - -",
    "real": "numpy Real x - -",
    "reciprocal": "numpy Reciprocal x - -",
    "relu": "nn Relu x - -",
    "relu6": "nn Relu6 x - -",
    "repeat": "numpy Repeat x - repeats,axis",
    "reshape": "numpy Reshape x - newshape",
    "resize": ("image Resize images - size,interpolation,antialias,data_format,"
        "crop_to_aspect_ratio,pad_to_aspect_ratio,fill_mode,fill_value"),
    "rfft": "math RFFT x - fft_length",
    "rgb_to_grayscale": "image RGBToGrayscale images - data_format",
    "rgb_to_hsv": "image RGBToHSV images - data_format",
    "right_shift": "numpy RightShift x,y - -",
    "rms_normalization": "nn RMSNorm x scale axis,epsilon",
    "roll": "numpy Roll x - shift,axis",
    "rot90": "numpy Rot90 array - k,axes",
    "round": "numpy Round x - decimals",
    "rsqrt": "math Rsqrt x - -",
    "scale_and_translate": ("image ScaleAndTranslate images,output_shape,scale,translation - spatial_dims,"
        "method,antialias"),
    "scan": "core Scan f,init,xs - length,reverse,unroll",
    "scatter": "core Scatter indices,values - shape",
    "scatter_update": "core ScatterUpdate inputs,indices,updates - reduction",
    "searchsorted": "numpy SearchSorted sorted_sequence,values - side",
    "segment_max": "math SegmentMax data,segment_ids - num_segments,sorted",
    "segment_min": "math SegmentMin data,segment_ids - num_segments,sorted",
    "segment_prod": "math SegmentProd data,segment_ids - num_segments,sorted",
    "segment_sum": "math SegmentSum data,segment_ids - num_segments,sorted",
    "select": "numpy Select condlist,choicelist,default - -",
    "selu": "nn Selu x - -",
    "separable_conv": ("nn SeparableConv inputs,depthwise_kernel,pointwise_kernel - strides,padding,"
        "data_format,dilation_rate"),
    "sigmoid": "nn Sigmoid x - -",
    "sign": "numpy Sign x - -",
    "signbit": "numpy Signbit x - -",
    "silu": "nn Silu x - -",
    "sin": "numpy Sin x - -",
    "sinc": "numpy Sinc x - -",
    "sinh": "numpy Sinh x - -",
    "size": "numpy Size x - -",
    "slice": "core Slice inputs,start_indices - shape",
    "slice_update": "core SliceUpdate inputs,start_indices,updates - -",
    "slogdet": "numpy Slogdet x - -",
    "sobel_edges": "image SobelEdges images - data_format",
    "soft_shrink": "nn SoftShrink x - threshold",
    "softmax": "nn Softmax x - axis",
    "softplus": "nn Softplus x - -",
    "softsign": "nn Softsign x - -",
    "solve": "linalg Solve a,b - -",
    "solve_triangular": "linalg SolveTriangular a,b - lower",
    "sort": "numpy Sort x - axis",
    "space_to_depth": "nn SpaceToDepth x - block_size,data_format",
    "sparse_categorical_crossentropy": ("nn SparseCategoricalCrossentropy target,output - from_logits,axis"),
    "sparse_plus": "nn SparsePlus x - -",
    "sparse_sigmoid": "nn SparseSigmoid x - -",
    "sparsemax": "nn Sparsemax x - axis",
    "split": "numpy Split x - indices_or_sections,axis",
    "sqrt": "numpy Sqrt x - -",
    "square": "numpy Square x - -",
    "squareplus": "nn Squareplus x - b",
    "squeeze": "numpy Squeeze x - axis",
    "ssim": "image SSIM image1,image2 - max_val,filter_size,filter_sigma,k1,k2,data_format",
    "stack": "numpy Stack x - axis",
    "std": "numpy Std x - axis,keepdims",
    "stft": "math STFT x - sequence_length,sequence_stride,fft_length,window,center",
    "stop_gradient": "core StopGradient variable - -",
    "subtract": "numpy Subtract x1,x2 - -",
    "sum": "numpy Sum x - axis,keepdims",
    "svd": "linalg SVD x - full_matrices,compute_uv",
    "swapaxes": "numpy Swapaxes x - axis1,axis2",
    "take": "numpy Take x,indices - axis",
    "take_along_axis": "numpy TakeAlongAxis x,indices - axis",
    "tan": "numpy Tan x - -",
    "tanh": "numpy Tanh x - -",
    "tanh_shrink": "nn TanhShrink x - -",
    "tensordot": "numpy Tensordot x1,x2 - axes",
    "threshold": "nn Threshold x - threshold,default_value",
    "tile": "numpy Tile x - repeats",
    "top_k": "math TopK x - k,sorted",
    "trace": "numpy Trace x - offset,axis1,axis2",
    "transpose": "numpy Transpose x - axes",
    "trapezoid": "numpy Trapezoid y - x,dx,axis",
    "tril": "numpy Tril x - k",
    "triu": "numpy Triu x - k",
    "true_divide": "numpy TrueDivide x1,x2 - -",
    "trunc": "numpy Trunc x - -",
    "unfold": "nn Unfold x - kernel_size,dilation,padding,stride",
    "unique": ("numpy Unique x - sorted,return_index,return_inverse,return_counts,axis,size,"
        "fill_value"),
    "unravel_index": "numpy UnravelIndex indices - shape",
    "unstack": "core Unstack x - num,axis",
    "vander": "numpy Vander x - N,increasing",
    "var": "numpy Var x - axis,keepdims",
    "vdot": "numpy Vdot x1,x2 - -",
    "view": "numpy View x - dtype",
    "view_as_complex": "math ViewAsComplex x - -",
    "view_as_real": "math ViewAsReal x - -",
    "vsplit": "numpy Vsplit x - indices_or_sections",
    "vstack": "numpy Vstack xs - -",
    "where": "numpy Where condition,x1,x2 - -",
    "while_loop": "core WhileLoop loop_vars - cond,body,maximum_iterations",
    "zeros_like": "numpy ZerosLike x - dtype",
}
_SIMPLE = (str, int, float, bool, type(None))


def _spec(fn_name):
    text = _KERAS_OPS.get(fn_name)
    if text is None:
        return None
    family, class_name, *groups = text.split()
    call, call_kw, init = (() if g == "-" else tuple(g.split(",")) for g in groups)
    return family, class_name, call, call_kw, init


def _op_function(fn_name):
    from gazelle import ops
    spec = _spec(fn_name)
    for space in ([getattr(ops, spec[0])] if spec else []) + [
            ops, ops.numpy, ops.nn, ops.core, ops.math, ops.linalg, ops.image]:
        fn = getattr(space, fn_name, None)
        if callable(fn):
            return fn
    raise ValueError(f"Unknown op {fn_name!r}: gazelle.ops has no such function.")


def _plain(value):
    """Whether `value` is made of JSON-friendly scalars (what Keras writes in an op config)."""
    if isinstance(value, (list, tuple)):
        return all(_plain(v) for v in value)
    return isinstance(value, _SIMPLE)


def _writable(value):
    """Whether a node argument can be written in a `.keras` file."""
    if symbolic.is_symbolic(value) or isinstance(value, _SIMPLE + (slice,)) or value is Ellipsis:
        return True
    if isinstance(value, (list, tuple)):
        return all(_writable(v) for v in value)
    if isinstance(value, dict):
        return all(isinstance(k, str) and _writable(v) for k, v in value.items())
    return hasattr(value, "dtype") and hasattr(value, "shape") and not callable(value)


class OpLayer(Layer):
    """One `keras.ops` function applied as a node of a Functional model.

    Made by calling an op on `keras.Input` tensors; not meant to be created by hand.

    Args:
        fn_name: the op's name in `keras.ops` (e.g. `"concatenate"`).
        name: the layer's name. Defaults to the op's snake-case class name.
        **config: the op's settings (arguments that are not tensors, e.g. `axis`).

    ```python
    a, b = keras.Input((3,)), keras.Input((4,))
    c = keras.ops.concatenate([a, b], axis=-1)      # an OpLayer node
    model = keras.Model([a, b], c * 2.0)
    ```
    """

    _cast_inputs = False
    _op_name = None
    _is_op_node = True          # a node of the graph, not one of `model.layers`

    def __init__(self, fn_name=None, name=None, **config):
        fn_name = fn_name or self._op_name
        spec = _spec(fn_name)
        base = naming.to_snake_case(spec[1]) if spec else fn_name
        super().__init__(name=name or naming.uniquify(base), trainable=False)
        self._fn_name = fn_name
        self._fn = _op_function(fn_name)
        self._op_config = dict(config)
        self._keras_layout = spec is not None and "_unsaveable" not in config
        self._unsaveable = self._op_config.pop("_unsaveable", None)
        self.built = True

    def get_config(self):
        # `fn_name` (and, for an op Keras's layout cannot hold, `_unsaveable`) let
        # `from_config` and clone_model rebuild the op; the `.keras` entry leaves them out.
        config = {"name": self.name, "fn_name": self._fn_name, **self._op_config}
        if not self._keras_layout:
            config["_unsaveable"] = self._unsaveable
        return config

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def _arguments(self, args, kwargs):
        if not self._keras_layout:
            return args, kwargs
        call_names = _spec(self._fn_name)[2]
        if call_names and call_names[0].startswith("*"):   # einsum, meshgrid: settings and varargs
            positional, keywords, after = [], {}, False
            for p in inspect.signature(self._fn).parameters.values():
                if p.kind == p.VAR_POSITIONAL:
                    positional.extend(args)
                    after = True
                elif p.name in self._op_config:
                    if after or p.kind != p.POSITIONAL_OR_KEYWORD:
                        keywords[p.name] = self._op_config[p.name]
                    else:
                        positional.append(self._op_config[p.name])
            return tuple(positional), {**kwargs, **keywords}
        if len(args) > len(call_names):
            raise ValueError(f"Op '{self.name}' ({self._fn_name}) takes {len(call_names)} "
                             f"tensor argument(s) {list(call_names)}; received {len(args)}.")
        return (), {**dict(zip(call_names, args)), **kwargs, **self._op_config}

    def call(self, *args, **kwargs):
        args, kwargs = self._arguments(args, kwargs)
        if self._fn_name == "get_item":             # a key read from a file is a list
            key = kwargs.get("key", args[1] if len(args) > 1 else None)
            if isinstance(key, list):
                key = tuple(key)
            args, kwargs = (), {"x": kwargs.get("x", args[0] if args else None), "key": key}
        return self._fn(*args, **kwargs)

    def __call__(self, *args, **kwargs):
        kwargs.pop("training", None)
        kwargs.pop("mask", None)
        if symbolic.any_symbolic((args, kwargs)):
            return self._symbolic_call(args, kwargs)
        return self.call(*args, **kwargs)

    def _symbolic_call(self, args, kwargs):
        # Tagged values from a `.keras` file (`__slice__`, `__numpy__`, ...) become values.
        args, kwargs = serialization.decode_special([list(args), kwargs])
        # Concrete JAX arrays among the arguments are constants of the graph: kept as NumPy
        # arrays, which a `.keras` file can hold.
        args, kwargs = jax.tree_util.tree_map(
            lambda x: np.asarray(x) if isinstance(x, jax.Array) and not isinstance(
                x, jax.core.Tracer) else x, (args, kwargs), is_leaf=symbolic.is_symbolic)
        leaves = [t for t in jax.tree_util.tree_leaves((args, kwargs), is_leaf=symbolic.is_symbolic)
                  if symbolic.is_symbolic(t)]

        def run(*values):
            found = dict(zip(map(id, leaves), values))
            a, k = jax.tree_util.tree_map(
                lambda t: found[id(t)] if symbolic.is_symbolic(t) else t, (args, kwargs),
                is_leaf=symbolic.is_symbolic)
            return self.call(*a, **k)

        def at(size):
            specs = [jax.ShapeDtypeStruct(tuple(size if d is None else d for d in t.shape),
                                          t.dtype) for t in leaves]
            return jax.eval_shape(run, *specs)

        where = f"ops.{self._fn_name} on placeholders of shapes {[t.shape for t in leaves]}"
        try:
            small, large = at(2), at(3)
        except (TypeError, ValueError) as e:
            try:
                error = type(e)(f"{where}: {e}")
            except Exception:       # JAX's errors take other constructor arguments
                error = ValueError(f"{where}: {e}")
            raise error from e
        if (jax.tree_util.tree_structure(small) != jax.tree_util.tree_structure(large)
                or any(len(a.shape) != len(b.shape) for a, b in zip(
                    jax.tree_util.tree_leaves(small), jax.tree_util.tree_leaves(large)))):
            raise ValueError(f"{where}: the number or rank of the outputs depends on the "
                             "unknown (None) dimensions, so the op cannot be a graph node. "
                             "Give the Input a fixed shape, or use a layer.")

        def placeholder(x, y):
            shape = tuple(p if p == q else None for p, q in zip(x.shape, y.shape))
            return symbolic.SymbolicTensor(shape, jnp.dtype(x.dtype).name, name=self.name)

        outputs = jax.tree_util.tree_map(placeholder, small, large)
        node = symbolic.Node(self, tuple(args), kwargs, outputs)
        for i, t in enumerate(jax.tree_util.tree_leaves(outputs, is_leaf=symbolic.is_symbolic)):
            t.node, t.index = node, i
        return outputs

    def compute_output_shape(self, input_shape):
        raise NotImplementedError(f"Op '{self.name}' computes its output shape when it is "
                                  "called on placeholders.")

    def _keras_entry(self, in_model=False):
        problem = self._unsaveable
        if problem is None and not self._keras_layout:
            problem = "gazelle does not know how Keras 3 writes this op in a .keras file"
        if problem is None:
            for node in self._inbound_nodes:
                if not _writable([list(node.args), node.kwargs]):
                    problem = "an argument is neither a tensor nor a plain value"
        if problem is not None:
            raise ValueError(
                f"Cannot save op '{self.name}' (keras.ops.{self._fn_name} called on "
                f"placeholders): {problem}. Wrap the computation in a keras.layers.Lambda or "
                "a custom layer to save this model.")
        family, class_name = _spec(self._fn_name)[:2]
        return {"module": f"keras.src.ops.{family}", "class_name": class_name,
                "config": serialization.serialize_keras_object(
                    {"name": self.name, **self._op_config}),
                "registered_name": class_name}


def record(fn_name, fn, args, kwargs):
    """The placeholder(s) for `fn(*args, **kwargs)`: a new OpLayer node (called by the ops
    when an argument is a SymbolicTensor)."""
    spec = _spec(fn_name)
    problem = None
    if spec is not None:
        _, _, call, call_kw, init = spec
        try:
            bound = inspect.signature(fn).bind(*args, **kwargs)
        except TypeError as e:
            raise TypeError(f"ops.{fn_name}: {e}") from None
        bound.apply_defaults()
        values = bound.arguments
        settings = {n: values[n] for n in init}
        named = call + call_kw + init
        extra = [n for n, p in inspect.signature(fn).parameters.items()
                 if n not in named and "*" + n not in named and (
                     values[n] if p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
                     else values.get(n, p.default) is not p.default)]
        if extra:
            problem = f"argument(s) {extra} have no place in Keras 3's saved layout"
        elif not all(_plain(v) and not symbolic.any_symbolic(v) for v in settings.values()):
            problem = "its settings " + ", ".join(
                f"{k}={v!r}" for k, v in settings.items() if not _plain(v)) + " are not plain values"
        if problem is None:
            layer = OpLayer(fn_name, **settings)
            if call and call[0].startswith("*"):
                return layer._symbolic_call(tuple(values.get(call[0][1:], ())), {})
            return layer._symbolic_call(tuple(values[n] for n in call),
                                        {n: values[n] for n in call_kw})
    layer = OpLayer(fn_name, _unsaveable=problem)
    layer._keras_layout = False
    return layer._symbolic_call(tuple(args), dict(kwargs))


_CLASSES = {}


def _op_layer_class(module, class_name):
    """The OpLayer class that loads Keras 3's entry for op `class_name` of `module`."""
    key = (module, class_name)
    if key not in _CLASSES:
        family = module.rsplit(".", 1)[-1]
        names = [n for n in sorted(_KERAS_OPS) if _spec(n)[:2] == (family, class_name)]
        if not names:
            return None
        settings = _spec(names[0])[4]

        def __init__(self, name=None, **config):
            config.pop("fn_name", None)
            OpLayer.__init__(self, names[0], name=name, **config)

        params = [inspect.Parameter("self", inspect.Parameter.POSITIONAL_OR_KEYWORD),
                  inspect.Parameter("name", inspect.Parameter.KEYWORD_ONLY, default=None)]
        params += [inspect.Parameter(s, inspect.Parameter.KEYWORD_ONLY) for s in settings]
        __init__.__signature__ = inspect.Signature(params)
        _CLASSES[key] = type(class_name, (OpLayer,), {
            "__init__": __init__, "_op_name": names[0], "__module__": __name__,
            "from_config": classmethod(lambda cls, config: cls(**config))})
    return _CLASSES[key]


_common.set_symbolic_recorder(record)
registry.register_op_layer_class(_op_layer_class)
