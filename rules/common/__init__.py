"""Helpers shared by the built-in rules, one module per theme (no rule is defined here)."""
