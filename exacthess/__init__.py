"""exacthess: exact, certified ranks of neural-network Hessians."""
