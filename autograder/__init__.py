"""The instructor side of homework 4: source notebooks, release, trusted checks and class grading."""
