"""Certified ranks: a pipeline that proposes ranks with their certificates, and a small checker that
shares no code with it and verifies every certificate against the matrix before a rank is certified."""
