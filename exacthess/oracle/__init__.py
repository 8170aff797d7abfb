"""The exact oracle for curvature libraries: the exact curvature of a network at a point (the Hessian,
the GGN, KFAC, diagonals, products, traces, certified eigenvalues) and comparisons with another
library's operator (see :mod:`exacthess.oracle.operator`)."""
