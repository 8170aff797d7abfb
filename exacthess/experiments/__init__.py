"""The top floor: ``verify`` and its report, counterexample search, sweeps of verifications, the
studies (Gauss-Newton gap, trends, float atlas), the source documents' claims and the proof runner."""
