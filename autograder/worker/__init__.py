"""A grading worker: grades one student at a time (in a local process pool or on a Dask worker).

It runs nbgrader's autograde pipeline with our two steps: ``execute.SandboxedExecute`` runs the notebook's
kernel inside the sandbox (student code runs nowhere else), ``verify.TrustedVerify`` judges the probe
outputs with the trusted checks here, outside the sandbox. It writes nothing the coordinator reads but
its return value.
"""
