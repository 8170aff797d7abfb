"""Grids of verifications: specs counted before expansion (``grid``), one job (``jobs``), resumable
JSON Lines records (``results``), local pools and Dask clusters (``pool``, ``cluster``), the driver."""
