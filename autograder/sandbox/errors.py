"""The error raised when the sandbox cannot be built on this machine, and the way out it suggests."""

NO_SANDBOX_HINT = "or pass --no-sandbox to grade without isolation"


class SandboxError(RuntimeError):
    """The sandbox cannot be created on this machine."""
