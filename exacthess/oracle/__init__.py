"""The exact oracle for curvature libraries: the exact curvature of a network at a point (the Hessian,
the GGN, KFAC, diagonals, products, traces, certified eigenvalues; :mod:`exacthess.oracle.operator`)
and comparisons with another library's matrix or operator (:mod:`exacthess.oracle.compare`: exact
errors, ranks, and the exact inertia of :mod:`exacthess.oracle.inertia`)."""
