"""The product: ``exacthess.verify`` (the pipeline), its report, the float columns, the quantities at
a point, the random-point sampler of generic statements, and ``exacthess.check`` of saved reports."""
