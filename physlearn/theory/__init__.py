"""Replica theory of perceptrons: one module per model/quantity."""
