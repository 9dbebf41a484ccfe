"""Automatic differentiation, the engines of Chapter 3.

Two engines, small enough to read in one sitting:

* :mod:`diffrn.autodiff.scalar` -- ``Value``, a scalar engine in the style of micrograd: every
  operation on a ``Value`` records a closure that sends the derivative backward.
* the tensor engine, modelled on HIPS autograd: functions written with
  ``diffrn.autodiff.numpy`` (``import diffrn.autodiff.numpy as anp``) are traced through
  :mod:`~diffrn.autodiff.tracing`; each primitive has one VJP rule (:mod:`~diffrn.autodiff.vjps`,
  reverse mode) and one JVP rule (:mod:`~diffrn.autodiff.jvps`, forward mode), registered with
  :func:`defvjp` and :func:`defjvp`. Rules are themselves differentiable, so derivatives nest.

What you can do with it::

    grad(f, argnum=0)(*args)            value_and_grad(f, argnum=0)(*args)
    vjp(f, x) -> (value, vjp_fn)        jvp(f, x, v) -> (value, J v)
    jacobian(f, x, mode="reverse" | "forward")
    hvp(f, x, v)                        hessian(f, x)

:mod:`diffrn.autodiff.testing` checks derivatives against finite differences. For repeated
training steps, ``reuse_freed_memory()`` asks glibc to keep freed heap pages for the next
backward pass (:mod:`diffrn.autodiff.allocator`); importing the package changes nothing.
"""
from diffrn.autodiff import numpy
from diffrn.autodiff.allocator import reuse_freed_memory
from diffrn.autodiff import vjps as _vjps  # noqa: F401  (registers the reverse-mode rules)
from diffrn.autodiff import jvps as _jvps  # noqa: F401  (registers the forward-mode rules)
from diffrn.autodiff.core import defjvp, defjvp_argnum, defvjp, defvjp_argnum
from diffrn.autodiff.operators import grad, hessian, hvp, jacobian, jvp, value_and_grad, vjp
from diffrn.autodiff.tracing import Box, UnsupportedPrimitiveError, notrace_primitive, primitive

__all__ = [
    "numpy", "grad", "value_and_grad", "vjp", "jvp", "jacobian", "hvp", "hessian",
    "primitive", "notrace_primitive", "defvjp", "defjvp", "defvjp_argnum", "defjvp_argnum",
    "Box", "UnsupportedPrimitiveError",
]
