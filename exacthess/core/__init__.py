"""The ground floor: exact numbers and number domains (Q, GF(p), symbols, floats), modular matrices,
errors, argument validation, resource budgets and progress; it imports nothing else of exacthess."""
