"""kazoo_compat: what a kazoo client does with err -124 (SESSIONCLOSEDREQUIRESASLAUTH), per
kazoo line, for zk_tls_check.py and zk_sasl_check.py.

kazoo 2.10 has no exception class for -124: EXCEPTIONS[-124] raises RuntimeError("Invalid
error code") in its connection thread ("Unhandled exception in connection loop"), the
thread ends, the listener sees LOST, the refused request's async result is never set and
a later request raises ConnectionClosedError.

kazoo 2.11 added SessionClosedRequireSaslError (-124), a ZookeeperError like any other:
- -124 in reply to a request (getData): the request's async result gets
  SessionClosedRequireSaslError and the connection loop goes on; the server's close is a
  dropped connection (SUSPENDED), kazoo reconnects with the session's id and password,
  the server takes the session back (CONNECTED: the -124 did not close it), the next
  request or ping gets -124 and a close again: the listener sees CONNECTED, SUSPENDED,
  CONNECTED, ... and never LOST; nothing is logged with an exception, and a later get
  raises SessionClosedRequireSaslError again.
- -124 in reply to the SASL exchange (a wrong password when SASL is required): kazoo's
  SASL step raises the SessionClosedRequireSaslError in its connection loop ("Unhandled
  exception in connection loop"), the thread ends, LOST, the pending get gets
  ConnectionLoss and a later one ConnectionClosedError.
(As seen against Apache ZooKeeper 3.9.4.)
"""
from importlib.metadata import version as _dist_version

KAZOO_VERSION = tuple(int(p) for p in _dist_version("kazoo").split(".")[:2])
# the first kazoo with an exception class for -124
KAZOO_HAS_124 = KAZOO_VERSION >= (2, 11)


def alternating_reconnects(states):
    """True when STATES is CONNECTED, SUSPENDED, CONNECTED[, SUSPENDED, CONNECTED...]: at
    least one reconnect into the same session, no LOST."""
    if len(states) < 3:
        return False
    return all(s == ("CONNECTED" if i % 2 == 0 else "SUSPENDED") for i, s in enumerate(states))


def wait_states(states, done, seconds):
    import time
    deadline = time.time() + seconds
    while not done(states) and time.time() < deadline:
        time.sleep(0.05)
    time.sleep(0.2)
