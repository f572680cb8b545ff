"""Synthetic CCD frames and scroll segments with exact truth labels."""
