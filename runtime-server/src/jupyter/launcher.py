# Starts an IPython kernel for openhands-runtime: `python3 -c <this> CONNECTION_FILE`.
#
# It tells the server on stdout when the kernel's sockets are bound (or why it cannot start), and it kills
# its own process group when stdin reaches end of file, which happens however the server dies: the kernel
# never outlives the server.
import os
import signal
import sys
import threading

report = os.fdopen(os.dup(1), "w", buffering=1)
lifeline = os.dup(0)
devnull = os.open(os.devnull, os.O_RDONLY)
os.dup2(devnull, 0)
os.close(devnull)


def watch_lifeline(fd):
    try:
        while os.read(fd, 4096):
            pass
    finally:
        os.killpg(0, signal.SIGKILL)


threading.Thread(target=watch_lifeline, args=(lifeline,), daemon=True).start()

try:
    import ipykernel
    from ipykernel.kernelapp import IPKernelApp
except Exception as e:  # ImportError, or a broken installation
    report.write("openhands-kernel-missing %s: %s\n" % (type(e).__name__, e))
    sys.exit(3)

if sys.path and sys.path[0] == "":
    del sys.path[0]
app = IPKernelApp.instance()
app.initialize(["-f", sys.argv[1]])
try:
    app.shell.run_line_magic("colors", "nocolor")
    # OpenHands' kernels start with these imported (its set-up cells import them).
    app.shell.ex("import os, sys")
except Exception as e:
    sys.stderr.write("openhands-runtime: kernel set-up: %r\n" % (e,))
report.write("openhands-kernel-ready %s %s\n" % (ipykernel.__version__, sys.executable))
report.close()
app.start()
