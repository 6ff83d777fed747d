"""A rank of an "mpi" communicator dies, leaves or hangs before an all_reduce
that the others enter (RuntimeCommMpi --dead-peer=HOW TIMEOUT_MS); the job
never hangs.

  abort, _exit   the rank ends without finalising MPI. mpirun notices and
                 ends the whole job within about a second (exit status
                 non-zero): the others, waiting with a 60 s timeout, are
                 killed long before it.
  exit, hang     the rank exits normally (its MPI_Finalize waits for the
                 others) or sleeps. The others get "timed out" after their
                 timeout (2 s here) and exit without finalising MPI (their
                 all_reduce is still pending), so mpirun ends the job.
  _exit, with mpirun --mca orte_abort_on_non_zero_status 0 (the job is not
                 ended): the others get "timed out" after their timeout.

Usage: comm_mpi_dead_peer.py "MPIRUN COMMAND" RUNTIMECOMMMPI
"""
import shlex
import subprocess
import sys
import time

mpirun, binary = shlex.split(sys.argv[1]), sys.argv[2]
failed = False


def run(np, how, timeout_ms, extra=()):
    cmd = mpirun + list(extra) + ["-np", str(np), binary,
                                  "--dead-peer=" + how, str(timeout_ms)]
    t0 = time.monotonic()
    try:
        p = subprocess.run(cmd, stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, text=True, timeout=60)
        rc, out = p.returncode, p.stdout
    except subprocess.TimeoutExpired as e:
        rc = -1
        out = (e.stdout or b"").decode(errors="replace") + "\n(hung: killed)"
    return rc, time.monotonic() - t0, out


def check(name, ok, rc, secs, out):
    global failed
    print("%s %s: exit status %d after %.1f s" %
          ("ok  " if ok else "FAIL", name, rc, secs))
    if not ok:
        failed = True
        print(out)


# Killed by mpirun, long before the survivors' 60 s timeout.
for np, how in [(2, "abort"), (3, "_exit")]:
    rc, secs, out = run(np, how, 60000)
    check("%s, %d ranks: mpirun ends the job" % (how, np),
          rc > 0 and secs < 30, rc, secs, out)

# The survivors' all_reduce times out, then the job ends.
for np, how, extra in [
        (2, "exit", ()), (3, "hang", ()),
        (3, "_exit", ("--mca", "orte_abort_on_non_zero_status", "0"))]:
    rc, secs, out = run(np, how, 2000, extra)
    survivors = [l for l in out.splitlines() if "all_reduce returned" in l]
    ok = (rc >= 0 and secs < 30 and len(survivors) == np - 1 and
          all('returned "timed out"' in l for l in survivors))
    check("%s, %d ranks%s: the others time out" %
          (how, np, " (job not ended)" if extra else ""), ok, rc, secs, out)
    for l in survivors:
        print("    " + l)

sys.exit(1 if failed else 0)
