"""Exact curvature of a network at a point, for curvature libraries: the Hessian, the GGN, KFAC,
diagonals, products, traces and certified eigenvalues, and comparisons with another library's
operator (see :mod:`exacthess.curvature.operator`)."""
