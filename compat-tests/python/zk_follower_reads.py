"""A session that only reads, through a follower, must stay alive: only the leader
expires sessions, so the follower has to report its clients' activity in its PING
replies. kazoo with a 4 s session timeout reads through one server for 12 s (three
timeouts), then must still own its session (an ephemeral create succeeds).

    zk_follower_reads.py HOST:PORT

Prints one summary line; exits 1 with the reason on failure.
"""
import sys
import time

from kazoo.client import KazooClient


def main():
    server = sys.argv[1]
    states = []
    client = KazooClient(hosts=server, timeout=4)
    client.add_listener(states.append)
    client.start(timeout=15)
    session = client.client_id[0]
    started = time.time()
    reads = 0
    try:
        while time.time() - started < 12:
            client.exists("/")
            reads += 1
            time.sleep(0.25)
        client.create("/keel-follower-reads-%x" % session, ephemeral=True)
    except Exception as error:  # the session expired: the bug this guards against
        print("follower-reads: %r after %.1f s and %d reads, states %s"
              % (error, time.time() - started, reads, states), file=sys.stderr)
        sys.exit(1)
    same = client.client_id[0] == session
    seen = [str(state) for state in states]
    client.stop()
    if not same or "LOST" in seen:
        print("follower-reads: the session changed or was lost: %s" % states, file=sys.stderr)
        sys.exit(1)
    print("a read-only session on %s outlived three 4 s timeouts (%d reads)" % (server, reads))


if __name__ == "__main__":
    main()
