"""The coordinator: the one process of `hw4 grade` that reads the class, hands students to the workers
and alone writes DIR (results, gradebook, feedback, tables). It never runs student code."""
