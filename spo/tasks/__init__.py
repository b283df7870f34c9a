"""Toy tasks: prompt generators with computable rewards."""
