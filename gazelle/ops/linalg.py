"""`keras.ops.linalg`: decompositions, solves, norms. [L0]

Thin mappings onto `jax.numpy.linalg` and `jax.scipy.linalg`, batched over leading axes.

```python
from gazelle import ops
ops.linalg.solve(ops.eye(2) * 2.0, ops.ones((2, 1)))     # [[0.5], [0.5]]
```
"""
import jax
import jax.numpy as jnp
import jax.scipy as jsp

from gazelle.core.variables import unwrap
from gazelle.ops._common import axis_arg as _axis
from gazelle.ops._common import tensor as _t
from gazelle.ops._common import to_float as _f


def cholesky(x, upper=False):
    """Cholesky factor of (batched) positive-definite matrices (lower unless `upper`)."""
    out = jnp.linalg.cholesky(_t(x), upper=upper)
    try:
        failed = bool(jnp.any(jnp.isnan(out)))
    except jax.errors.TracerBoolConversionError:
        failed = False
    if failed:
        raise ValueError("cholesky: the decomposition failed; the input might not be a "
                         "positive-definite matrix.")
    return out


def cholesky_inverse(x, upper=False):
    """Inverse of a matrix from its Cholesky factor `x`."""
    x = _t(x)
    eye = jnp.eye(x.shape[-1], dtype=x.dtype)
    inv_factor = jsp.linalg.solve_triangular(x, eye, lower=not upper)
    if upper:
        return inv_factor @ jnp.swapaxes(inv_factor, -1, -2)
    return jnp.swapaxes(inv_factor, -1, -2) @ inv_factor


def det(x):
    """Determinant of (batched) square matrices."""
    return jnp.linalg.det(_t(x))


def eig(x):
    """Eigenvalues and eigenvectors of general square matrices (complex; CPU only in JAX)."""
    return jnp.linalg.eig(_t(x))


def eigh(x):
    """Eigenvalues (ascending) and eigenvectors of symmetric matrices."""
    return jnp.linalg.eigh(_t(x))


def inv(x):
    """Inverse of (batched) square matrices."""
    return jnp.linalg.inv(_t(x))


def lu_factor(x):
    """LU factorization with partial pivoting: `(lu, pivots)`."""
    x = _t(x)
    fn = jsp.linalg.lu_factor
    for _ in range(x.ndim - 2):
        fn = jax.vmap(fn)
    return fn(x)


def norm(x, ord=None, axis=None, keepdims=False):
    """Vector or matrix norm (ints give floatx)."""
    return jnp.linalg.norm(_f(x), ord=ord, axis=_axis(axis), keepdims=keepdims)


def qr(x, mode="reduced"):
    """QR decomposition; `mode` is 'reduced' or 'complete'."""
    if mode not in ("reduced", "complete"):
        raise ValueError(f"qr: `mode` must be 'reduced' or 'complete', received {mode!r}.")
    return jnp.linalg.qr(_t(x), mode=mode)


def solve(a, b):
    """Solves a x = b for x."""
    return jnp.linalg.solve(_t(a), _t(b))


def solve_triangular(a, b, lower=False):
    """Solves a x = b for triangular `a`."""
    return jsp.linalg.solve_triangular(_t(a), _t(b), lower=lower)


def svd(x, full_matrices=True, compute_uv=True):
    """Singular value decomposition: `(u, s, vh)`, or `s` alone without compute_uv."""
    return jnp.linalg.svd(_t(x), full_matrices=full_matrices, compute_uv=compute_uv)


def lstsq(a, b, rcond=None):
    """Least-squares solution of a x = b."""
    return jnp.linalg.lstsq(_t(a), _t(b), rcond=rcond)[0]


def matrix_rank(x, tol=None):
    """Rank of (batched) matrices, as int32."""
    x = _t(x)
    if x.ndim < 2:
        raise ValueError(f"matrix_rank: expected rank >= 2, received shape {x.shape}.")
    return jnp.linalg.matrix_rank(x, tol=tol).astype("int32")


def pinv(x, rcond=None):
    """Moore-Penrose pseudo-inverse."""
    x = _t(x)
    if x.ndim < 2:
        raise ValueError(f"pinv: expected rank >= 2, received shape {x.shape}.")
    return jnp.linalg.pinv(x, rcond=rcond)


def jvp(fun, primals, tangents, has_aux=False):
    """Jacobian-vector product of `fun` at `primals` along `tangents`."""
    return jax.jvp(fun, unwrap(tuple(primals)), unwrap(tuple(tangents)), has_aux=has_aux)
