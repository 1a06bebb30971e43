"""Homework 4 helpers: MNIST loading, the `hw4` command, and the grading probe."""
