"""Image operations on numpy arrays: display stretch, thresholds, morphology, particle analysis."""
