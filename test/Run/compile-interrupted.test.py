"""compile-interrupted.test.py DITC MODEL DIR SIG: starts `DITC compile
MODEL` (tp=2: two weight files), sends it signal SIG as soon as a .partial
weight file appears, and prints what it left in its folder under DIR."""
import glob
import os
import signal
import subprocess
import sys
import time

ditc, model, out_dir, name = sys.argv[1:5]
sig = getattr(signal, "SIG" + name)
for attempt in range(20):
    work = os.path.join(out_dir, "%s-%d" % (name, attempt))
    os.makedirs(work)
    p = subprocess.Popen([ditc, "compile", model, "--devices", "2", "--plan", "tp=2",
                          "-o", os.path.join(work, "m.so")],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                         # As from a terminal (lit may start tests with SIGINT ignored).
                         preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    start = time.time()
    while not glob.glob(os.path.join(work, "*.partial")) and p.poll() is None:
        if time.time() - start > 300:
            p.kill()
            sys.exit("no .partial file within 300 s")
        time.sleep(0.002)
    if p.poll() is None:
        os.kill(p.pid, sig)
    rc = p.wait()
    if rc == -sig:
        print("interrupted while writing")
        print("left:", sorted(os.listdir(work)))
        sys.exit(0)
    if rc != 0:
        sys.exit("ditc compile failed with exit status %d" % rc)
sys.exit("every compile finished before the signal")
