"""Reusable components."""
