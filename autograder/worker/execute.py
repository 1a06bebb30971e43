"""``SandboxedExecute``, our first step in nbgrader's autograde pipeline (see nbgrader_config.py): nbgrader's
``Execute`` with the kernel inside the sandbox, fresh probe inputs for this run, a wall clock for the whole
notebook and a cap on output. ``verify.TrustedVerify`` then judges what the probe recorded.
"""
import hashlib
import json
import os
import shutil
import signal
import threading
from pathlib import Path

import torch
from jupyter_client.manager import AsyncKernelManager
from nbclient.exceptions import CellTimeoutError, DeadKernelError
from nbformat.v4 import new_output
from nbgrader.preprocessors import Execute
from traitlets import Bool, Dict, Integer, Unicode

from hw4 import course, probe

from .. import sandbox
from ..checks import CHECKS
from ..course import KERNEL_IMPORTS
from ..sandbox.zygote import ZygoteError


class EnvKernelManager(AsyncKernelManager):
    """A plain kernel (``--no-sandbox``) that gets the same extra environment as a sandboxed one."""

    extra_env = Dict()

    async def _async_pre_start_kernel(self, **kw):
        kw["env"] = {**os.environ, **kw.get("env", {}), **self.extra_env}
        return await super()._async_pre_start_kernel(**kw)


def draw_cases(notebook, seed):
    """Test id → fresh input cases for every check of ``notebook``, reproducible from ``seed``."""
    cases = {}
    for test_id, check in CHECKS.items():
        if check.notebook == notebook:
            digest = hashlib.sha256(f"{seed}:{test_id}".encode()).digest()
            cases[test_id] = check.make_cases(torch.Generator().manual_seed(int.from_bytes(digest[:7], "big")))
    return cases


def state_path(work_dir, notebook):
    """Where a notebook's run outcome is kept: beside its scratch folder, out of the student's reach."""
    return Path(work_dir) / f"{notebook}.state.json"


class SandboxedExecute(Execute):
    use_sandbox = Bool(True, help="run student code in the bubblewrap sandbox").tag(config=True)
    work_dir = Unicode(help="this student's scratch root; each notebook gets a fresh folder in it").tag(config=True)
    seed = Integer(0, help="seed of this run's probe inputs").tag(config=True)
    wall_seconds = Integer(sandbox.NOTEBOOK_TIMEOUT_S, help="the whole notebook's time limit").tag(config=True)
    memory_bytes = Integer(sandbox.MEMORY_BYTES, help="memory limit of the student's kernel").tag(config=True)
    max_output_bytes = Integer(sandbox.MAX_OUTPUT_BYTES,
                               help="output kept per notebook; the rest is dropped").tag(config=True)
    warm_kernels = Bool(True, help="fork sandboxed kernels from the zygote (see zygote.py)").tag(config=True)

    def _prepare(self, name):
        """A fresh scratch folder holding this run's probe inputs; the run's state."""
        scratch = Path(self.work_dir) / name
        shutil.rmtree(scratch, ignore_errors=True)
        probe_dir = scratch / "probe"
        probe_dir.mkdir(parents=True)
        cases = draw_cases(name, self.seed)
        for test_id, test_cases in cases.items():
            probe.write(probe.input_path(probe_dir, test_id), test_cases)
        return scratch, dict(cases=cases, probe_dir=str(probe_dir), status="ok", reason="")

    def preprocess(self, nb, resources):
        name = resources["nbgrader"]["notebook"]
        scratch, state = self._prepare(name)
        resources["hw4"] = state
        self._notebook, self._scratch, self._state, self._output_bytes = name, scratch, state, 0
        self.kernel_manager_class = sandbox.SandboxedKernelManager if self.use_sandbox else EnvKernelManager
        resources.setdefault("metadata", {})["path"] = str(scratch)
        clock = threading.Timer(self.wall_seconds, self._out_of_time)
        try:
            with sandbox.claim_slot() as self._slot:
                if self.use_sandbox:
                    sandbox.prepare_scratch(scratch, self._slot)
                clock.start()
                self._execute(nb, resources)
        except DeadKernelError:
            self._stopped("crashed", f"{name}: the kernel died (out of memory, or the code ended its own process)")
        except CellTimeoutError:  # a cell that ignored the interrupt: nothing after it can run
            self._stopped("timeout", f"{name}: a cell kept running after {self.timeout} s and an interrupt, so "
                                     "the notebook was stopped there")
        except Exception as err:  # whatever else stops the run, the tests that ran still count
            self._stopped("crashed", f"{name}: the notebook could not be run to the end ({type(err).__name__})")
        finally:
            clock.cancel()
            outcome = dict(status=state["status"], reason=state["reason"])
            state_path(self.work_dir, name).write_text(json.dumps(outcome))
        return nb, resources

    def _execute(self, nb, resources):
        """Run the notebook. A zygote that fails to fork the kernel is the grader's fault, not the student's:
        then the notebook runs with a cold kernel, in the same sandbox, before any of its cells has run."""
        try:
            super().preprocess(nb, resources)
        except ZygoteError as err:
            if not (self.use_sandbox and self.warm_kernels):
                raise
            self.log.warning("the zygote failed (%s); running this notebook with a cold kernel", err)
            self.warm_kernels = False
            try:
                super().preprocess(nb, resources)
            finally:
                self.warm_kernels = True

    def _stopped(self, status, reason):
        if self._state["status"] == "ok":  # the first cause is the one worth reporting
            self._state.update(status=status, reason=reason)

    def create_kernel_manager(self):
        km = super().create_kernel_manager()
        km.extra_env = {course.NBGRADER_EXECUTION: "autograde", course.OFFLINE: "1",
                        course.PROBE_DIR: self._state["probe_dir"],
                        "OMP_NUM_THREADS": "1"}  # one core per worker: more threads only contend
        if self.use_sandbox:
            km.scratch, km.slot, km.warm = str(self._scratch), self._slot, self.warm_kernels
            km.imports = list(KERNEL_IMPORTS.get(self._notebook, ()))
            km.limits = dict(memory_bytes=self.memory_bytes)
        return km

    def _out_of_time(self):
        """Kill the kernel; nbclient then stops with DeadKernelError."""
        self._state.update(status="timeout", reason=f"{self._notebook}: still running after "
                                                    f"{self.wall_seconds} s, so it was stopped")
        process = getattr(getattr(self.km, "provisioner", None), "process", None)
        if process is not None:
            try:
                os.killpg(process.pid, signal.SIGKILL)  # kernels run in a session of their own
            except ProcessLookupError:
                pass

    def on_cell_executed(self, **kwargs):
        super().on_cell_executed(**kwargs)
        reply = kwargs["execute_reply"]["content"]
        if reply.get("ename") == "CellTimeoutError":
            self._stopped("timeout", f"{self._notebook}: a cell ran longer than {self.timeout} s")

    def output(self, outs, msg, display_id, cell_index):
        """Keep at most ``max_output_bytes`` of output, so that a flood cannot fill the grader's memory."""
        if self._output_bytes > self.max_output_bytes:
            return None
        self._output_bytes += len(json.dumps(msg["content"], default=str))
        if self._output_bytes > self.max_output_bytes:
            outs.append(new_output("stream", name="stdout", text="\n[output truncated by the grader]\n"))
            return None
        return super().output(outs, msg, display_id, cell_index)
