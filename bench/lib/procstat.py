#!/usr/bin/env python3
"""procstat.py: memory and CPU of a server's processes, from /proc.

    procstat.py snap PID [PID...]
        prints "rss_kb hwm_kb cpu_s": VmRSS and VmHWM from /proc/<pid>/status and
        utime+stime from /proc/<pid>/stat (in seconds), each summed over the PIDs
        (keel runs as two processes, its ZooKeeper and its broker: both count).
    procstat.py watch OUT_FILE PID [PID...]
        samples the summed VmRSS every 100 ms until SIGTERM/SIGINT, then writes the
        peak (kB) to OUT_FILE: the resident memory "under load" while a test runs.
"""
import os
import signal
import sys
import time

CLK_TCK = os.sysconf("SC_CLK_TCK")


def status_kb(pid, key):
    try:
        with open("/proc/%s/status" % pid) as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def cpu_s(pid):
    try:
        with open("/proc/%s/stat" % pid) as f:
            text = f.read()
    except OSError:
        return 0.0
    # fields after the ")" that closes comm; utime and stime are fields 14 and 15
    fields = text[text.rindex(")") + 2:].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def main():
    cmd = sys.argv[1]
    if cmd == "snap":
        pids = sys.argv[2:]
        rss = sum(status_kb(p, "VmRSS") for p in pids)
        hwm = sum(status_kb(p, "VmHWM") for p in pids)
        cpu = sum(cpu_s(p) for p in pids)
        print("%d %d %.2f" % (rss, hwm, cpu))
    elif cmd == "watch":
        out, pids = sys.argv[2], sys.argv[3:]
        peak = [0]
        stop = [False]

        def on_signal(*_):
            stop[0] = True

        signal.signal(signal.SIGTERM, on_signal)
        signal.signal(signal.SIGINT, on_signal)
        while not stop[0]:
            peak[0] = max(peak[0], sum(status_kb(p, "VmRSS") for p in pids))
            time.sleep(0.1)
        with open(out, "w") as f:
            f.write("%d\n" % peak[0])
    else:
        sys.exit("usage: procstat.py snap|watch ...")


if __name__ == "__main__":
    main()
