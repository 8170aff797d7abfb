"""Exact Hessians: the exact point (weights, data, forward pass), the engine forming H_o, H_f and H_L
and their blocks over any number domain, their costs, and the matrices certificates refer to."""
