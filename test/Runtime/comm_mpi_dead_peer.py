"""A rank of an "mpi" communicator dies or leaves before an all_reduce that
the others enter (RuntimeCommMpi --dead-peer=HOW TIMEOUT_MS); nobody hangs.

  abort, _exit   the rank ends without finalising MPI. mpirun notices and
                 ends the whole job within about a second (exit status
                 non-zero): the survivors, waiting with a 60 s timeout, are
                 killed long before it.
  exit           the rank exits normally: the runtime finalises MPI at exit,
                 which waits for the other ranks. They get "timed out" after
                 their communicator's timeout (2 s here).
  _exit, with mpirun --mca orte_abort_on_non_zero_status 0 (the job is not
                 ended): the survivors get "timed out" after their timeout.

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
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       text=True, timeout=120)
    return p.returncode, time.monotonic() - t0, p.stdout


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
          rc != 0 and secs < 30, rc, secs, out)

# The survivors' all_reduce times out.
for np, how, extra in [(2, "exit", ()),
                       (3, "_exit", ("--mca", "orte_abort_on_non_zero_status", "0"))]:
    rc, secs, out = run(np, how, 2000, extra)
    survivors = [l for l in out.splitlines() if "all_reduce returned" in l]
    ok = (len(survivors) == np - 1 and secs < 30 and
          all('returned "timed out"' in l for l in survivors))
    check("%s, %d ranks%s: the others time out" %
          (how, np, " (job not ended)" if extra else ""), ok, rc, secs, out)
    for l in survivors:
        print("    " + l)

sys.exit(1 if failed else 0)
