"""Training-data export: tiles, random crops, bounding boxes and cut-outs."""
