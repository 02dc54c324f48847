"""Worker processes for the multi-process tests: start, wait (killing the rest on the first
failure or at the deadline), and read their logs. Shared by test_multiprocess.py and
test_multiprocess_fit.py."""
import socket
import subprocess
import time


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(cmd, env, out, log):
    """Starts `cmd` with its output in `log`; returns (Popen, out, log)."""
    with open(log, "w") as logf:
        proc = subprocess.Popen(cmd, env=env, stdout=logf, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL)
    return proc, out, log


def wait_all(procs, deadline):
    """Waits for every process until `deadline` (time.monotonic()); as soon as one fails or
    time runs out, kills the rest. Returns "" on success, else what went wrong. Never leaves
    a child running."""
    try:
        while True:
            codes = [p.poll() for p, _, _ in procs]
            if any(c not in (None, 0) for c in codes):
                return f"a process exited with status {codes}"
            if all(c == 0 for c in codes):
                return ""
            if time.monotonic() > deadline:
                return "still running at the deadline (killed)"
            time.sleep(0.05)
    finally:
        for p, _, _ in procs:
            if p.poll() is None:
                p.kill()
            p.wait()


def logs(procs, limit=4000):
    """The last `limit` characters of each process's log, headed by the log's name."""
    return "\n".join(f"--- {log.name} ---\n" + (log.read_text()[-limit:] if log.exists()
                                                 else "<no log>") for _, _, log in procs)
