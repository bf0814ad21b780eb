"""zk_sasl_check: ZooKeeper client SASL (DIGEST-MD5) from Python, for the zk-sasl suite.

    python zk_sasl_check.py kazoo CONNECT ALICE_PATH
    python zk_sasl_check.py raw CONNECT ALICE_PATH
    python zk_sasl_check.py required CONNECT ALICE_PATH

ALICE_PATH exists with data "hello" and ACL sasl:alice:cdrwa; the server's JAAS Server
section knows alice/alice-secret (and kafka, super), not mallory.

kazoo: kazoo's sasl_options (pure-sasl's DIGEST-MD5; kazoo uses service "zookeeper" and
  host "zk-sasl-md5", the realm Apache hard-wires) as alice reads the node and its ACL and
  creates a child with ACL auth::cdrwa, which the server stores as sasl:alice:cdrwa; an
  anonymous kazoo gets NoAuthError. A wrong password, and an unknown user: start()
  returns (kazoo reports CONNECTED before its SASL exchange), then the server's
  AUTH_FAILED reply makes kazoo log "AUTH_FAILED closing: " (an AuthFailedError raised
  from the reply's error code -115, not "Connection dropped in SASL", which is what a
  bare close gives), the listener sees LOST, and a get raises ConnectionClosedError.
  An alice session opened before the failures still reads afterwards, and a new one too.

raw: the wire exchange on a plain socket, pure-sasl computing the DIGEST-MD5 tokens:
  ConnectRequest, then SASL requests (opcode 102, GetSASLRequest{token}); each reply is
  ReplyHeader{xid echoed, zxid 0, err} + SetSASLResponse{token}.
  alice: the empty first token gets err 0 and the challenge
    realm="zk-sasl-md5",nonce="<40 base64 characters>",charset=utf-8,algorithm=md5-sess
  (Java's DIGEST-MD5 server: fields in that order, no qop field, qop "auth" being the
  default); the digest response gets err 0 and
  "rspauth=<32 hex>", which pure-sasl verifies; whoAmI (opcode 107) is then
  [sasl alice, ip 127.0.0.1] and getData reads "hello".
  a wrong password, and an unknown user: the first token gets the same challenge; the
  response gets err -115 (AUTHFAILED), zxid 0 and a null token (length -1: the whole
  reply is 20 bytes), then the server closes the connection (EOF, nothing more).
  Afterwards a new alice connection authenticates and reads again.

required: a server with the same set-up plus sessionRequireClientSASLAuth=true (Apache's
  AuthenticationHelper: enforce.auth with the scheme sasl). ALICE_PATH does not exist yet.
  Raw sockets:
  - alice's exchange as in `raw` (err 0, rspauth), then she creates ALICE_PATH (data
    "hello", ACL world:anyone) and reads it.
  - no SASL: the ConnectRequest gets a session; getData -> a 16-byte reply {xid echoed,
    zxid 0, err -124 SESSIONCLOSEDREQUIRESASLAUTH}, then EOF. An auth packet digest
    bob:bob-secret (opcode 100) -> err 0, then getData -> err -124 and EOF (digest is not
    sasl).
  - a wrong password, and an unknown user: the first token gets the challenge; the
    response gets err -124 (not -115 AUTHFAILED: ZooKeeperServer.processSasl answers
    SESSIONCLOSEDREQUIRESASLAUTH when SASL is required), zxid 0, a null token (20 bytes),
    then EOF.
  kazoo: alice with sasl_options reads ALICE_PATH; without SASL, and with a wrong
  password, start() returns (CONNECTED), then the -124 reply (to the get, or to the SASL
  response) does what the installed kazoo line does with it (kazoo_compat.py):
  2.10 (no exception class for -124: EXCEPTIONS[-124] raises RuntimeError("Invalid error
  code")): both end kazoo's connection thread on that RuntimeError (logged "Unhandled
  exception in connection loop"; not "AUTH_FAILED closing: ", which err -115 gives),
  the listener sees LOST, and a get afterwards raises ConnectionClosedError.
  2.11 (SessionClosedRequireSaslError): without SASL the get raises it and kazoo
  reconnects into the session again and again (CONNECTED, SUSPENDED, CONNECTED..., never
  LOST), a later get raises it again; with a wrong password the SASL step raises it in
  the connection loop (logged as above), LOST, the get gets ConnectionLoss, a later get
  ConnectionClosedError. Then alice deletes ALICE_PATH.

Prints ok/FAIL lines (and info lines recording what was seen); exit 0 iff all passed.
"""

import logging
import re
import socket
import struct
import sys
import time

FAILURES = []


def check(cond, what, why=""):
    if cond:
        print("ok   " + what, flush=True)
    else:
        FAILURES.append(what)
        print("FAIL %s: %s" % (what, why), flush=True)


def info(what):
    print("info " + what, flush=True)


# --- kazoo ------------------------------------------------------------------------------

class Records(logging.Handler):
    def __init__(self):
        logging.Handler.__init__(self)
        self.messages = []

    def emit(self, record):
        self.messages.append(record.getMessage())


def kazoo_main(connect, alice_path):
    from kazoo.client import KazooClient
    from kazoo.exceptions import ConnectionClosedError, NoAuthError
    from kazoo.security import make_acl

    records = Records()
    logging.getLogger("kazoo").addHandler(records)
    logging.getLogger("kazoo").setLevel(logging.WARNING)

    def sasl(user, password):
        return {"mechanism": "DIGEST-MD5", "username": user, "password": password}

    def client(options):
        c = KazooClient(hosts=connect, timeout=15, sasl_options=options)
        states = []
        c.add_listener(lambda s: states.append(str(s)))
        c.start(timeout=20)
        return c, states

    alice, _ = client(sasl("alice", "alice-secret"))
    data, _ = alice.get(alice_path)
    check(data == b"hello", "alice: get %s = hello" % alice_path, repr(data))
    acls, _ = alice.get_acls(alice_path)
    got = [(a.id.scheme, a.id.id, a.perms) for a in acls]
    check(got == [("sasl", "alice", 31)], "alice: get_acls = sasl:alice:31", repr(got))
    child = alice_path + "/kazoo"
    alice.create(child, b"k", acl=[make_acl("auth", "", all=True)])
    acls, _ = alice.get_acls(child)
    got = [(a.id.scheme, a.id.id, a.perms) for a in acls]
    check(got == [("sasl", "alice", 31)], "alice: child created with auth::cdrwa has ACL sasl:alice:31", repr(got))

    anon, _ = client(None)
    try:
        anon.get(alice_path)
        check(False, "anonymous: get %s raises NoAuthError" % alice_path, "it read the node")
    except NoAuthError:
        check(True, "anonymous: get %s raises NoAuthError" % alice_path)
    anon.stop()
    anon.close()

    for user, password in (("alice", "not-alice-secret"), ("mallory", "mallory-secret")):
        del records.messages[:]
        c, states = client(sasl(user, password))
        deadline = time.time() + 15
        while "LOST" not in states and time.time() < deadline:
            time.sleep(0.05)
        time.sleep(0.3)
        info("%s/%s: listener states %s, client_state %s, log %r"
             % (user, password, states, c.client_state, records.messages))
        check(states == ["CONNECTED", "LOST"], "%s (refused): listener states CONNECTED, LOST" % user, repr(states))
        check("AUTH_FAILED closing: " in records.messages,
              "%s (refused): kazoo logged 'AUTH_FAILED closing: ' (AuthFailedError from err -115)" % user,
              repr(records.messages))
        try:
            c.get(alice_path)
            check(False, "%s (refused): get raises ConnectionClosedError" % user, "it read the node")
        except ConnectionClosedError:
            check(True, "%s (refused): get raises ConnectionClosedError" % user)
        except Exception as e:  # noqa: BLE001 - record what it was
            check(False, "%s (refused): get raises ConnectionClosedError" % user, repr(e))
        c.stop()
        c.close()

    data, _ = alice.get(alice_path)
    check(data == b"hello", "alice's first session still reads after the refusals", repr(data))
    again, _ = client(sasl("alice", "alice-secret"))
    data, _ = again.get(alice_path)
    check(data == b"hello", "a new alice session reads after the refusals", repr(data))
    alice.delete(child)
    for c in (alice, again):
        c.stop()
        c.close()


# --- raw ------------------------------------------------------------------------------------

class Conn:
    def __init__(self, connect):
        host, port = connect.rsplit(":", 1)
        self.s = socket.create_connection((host, int(port)), timeout=10)
        self.xid = 0
        body = struct.pack(">iqiq", 0, 0, 30000, 0) + struct.pack(">i", 16) + b"\0" * 16 + b"\0"
        self.send(body)
        resp = self.frame()
        _, timeout, self.session = struct.unpack(">iiq", resp[:16])

    def send(self, payload):
        self.s.sendall(struct.pack(">i", len(payload)) + payload)

    def recv(self, n):
        out = b""
        while len(out) < n:
            b = self.s.recv(n - len(out))
            if not b:
                raise EOFError("closed after %d of %d bytes" % (len(out), n))
            out += b
        return out

    def frame(self):
        n = struct.unpack(">i", self.recv(4))[0]
        return self.recv(n)

    def call(self, opcode, body):
        self.xid += 1
        self.send(struct.pack(">ii", self.xid, opcode) + body)
        reply = self.frame()
        xid, zxid, err = struct.unpack(">iqi", reply[:16])
        return xid, zxid, err, reply[16:]

    def sasl(self, token):
        xid, zxid, err, body = self.call(102, struct.pack(">i", len(token)) + token)
        if len(body) < 4:
            # no SetSASLResponse after the header: a Java client fails to read it (EOFException)
            tok = b"<no SetSASLResponse body: %r>" % body
        else:
            n = struct.unpack(">i", body[:4])[0]
            tok = None if n < 0 else body[4:4 + n]
        return {"xid": xid, "want_xid": self.xid, "zxid": zxid, "err": err, "token": tok, "raw_len": 16 + len(body)}

    def eof_within(self, seconds):
        """True when the server closes the connection (with no more bytes) in time."""
        self.s.settimeout(seconds)
        try:
            extra = self.s.recv(4096)
        except socket.timeout:
            return False, "still open after %ss" % seconds
        except ConnectionResetError:
            return True, "reset"
        if extra:
            return False, "more bytes: %r" % extra
        return True, "EOF"

    def close(self):
        self.s.close()


def ustring(body, pos):
    n = struct.unpack(">i", body[pos:pos + 4])[0]
    return body[pos + 4:pos + 4 + n].decode(), pos + 4 + n


CHALLENGE = re.compile(r'^realm="zk-sasl-md5",nonce="[^"]+",charset=utf-8,algorithm=md5-sess$')


def raw_login(connect, user, password, label):
    """Runs the exchange; returns (conn, second reply)."""
    from puresasl.client import SASLClient

    cli = SASLClient("zk-sasl-md5", service="zookeeper", mechanism="DIGEST-MD5",
                     username=user, password=password)
    c = Conn(connect)
    first = c.sasl(b"")
    chal = first["token"]
    info("%s: first reply xid=%d zxid=%d err=%d token=%r" % (label, first["xid"], first["zxid"], first["err"], chal))
    check(first["err"] == 0 and first["zxid"] == 0 and first["xid"] == first["want_xid"],
          "%s: empty first token -> err 0, zxid 0, xid echoed" % label, repr(first))
    check(chal is not None and CHALLENGE.match(chal.decode("utf-8", "replace")) is not None,
          '%s: challenge realm="zk-sasl-md5",nonce="..",charset=utf-8,algorithm=md5-sess' % label,
          repr(chal))
    response = cli.process(chal or b"")
    second = c.sasl(response)
    info("%s: second reply xid=%d zxid=%d err=%d token=%r (reply %d bytes)"
         % (label, second["xid"], second["zxid"], second["err"], second["token"], second["raw_len"]))
    return c, cli, second


def raw_main(connect, alice_path):
    c, cli, second = raw_login(connect, "alice", "alice-secret", "alice")
    tok = second["token"] or b""
    check(second["err"] == 0 and second["zxid"] == 0 and re.match(rb"^rspauth=[0-9a-f]{32}$", tok) is not None,
          "alice: response -> err 0, zxid 0, rspauth=<32 hex>", repr(second))
    try:
        cli.process(tok)
        check(cli.complete, "alice: pure-sasl verified rspauth, exchange complete", "not complete")
    except Exception as e:  # noqa: BLE001
        check(False, "alice: pure-sasl verified rspauth", repr(e))
    _, _, err, body = c.call(107, b"")
    ids, pos = [], 4
    for _ in range(struct.unpack(">i", body[:4])[0] if err == 0 else 0):
        scheme, pos = ustring(body, pos)
        user, pos = ustring(body, pos)
        ids.append((scheme, user))
    check(err == 0 and ids == [("sasl", "alice"), ("ip", "127.0.0.1")],
          "alice: whoAmI = [sasl alice, ip 127.0.0.1]", "err %d %r" % (err, ids))
    path = alice_path.encode()
    _, _, err, body = c.call(4, struct.pack(">i", len(path)) + path + b"\0")
    data = body[4:4 + struct.unpack(">i", body[:4])[0]] if err == 0 else None
    check(err == 0 and data == b"hello", "alice: getData %s = hello" % alice_path, "err %d data %r" % (err, data))
    c.close()

    for user, password, label in (("alice", "not-alice-secret", "alice, wrong password"),
                                  ("mallory", "mallory-secret", "mallory, unknown user")):
        c, _, second = raw_login(connect, user, password, label)
        check(second["err"] == -115 and second["zxid"] == 0 and second["xid"] == second["want_xid"],
              "%s: response -> err -115 (AUTHFAILED), zxid 0, xid echoed" % label, repr(second))
        check(second["token"] is None and second["raw_len"] == 20,
              "%s: null token (length -1, a 20-byte reply)" % label, repr(second))
        closed, how = c.eof_within(5)
        info("%s: after the reply: %s" % (label, how))
        check(closed, "%s: the server closes the connection" % label, how)
        c.close()

    c, cli, second = raw_login(connect, "alice", "alice-secret", "alice again")
    check(second["err"] == 0, "alice again: authenticated after the refusals", repr(second))
    path = alice_path.encode()
    _, _, err, body = c.call(4, struct.pack(">i", len(path)) + path + b"\0")
    check(err == 0, "alice again: getData %s" % alice_path, "err %d" % err)
    c.close()


# --- required: sessionRequireClientSASLAuth=true ------------------------------------------------

SESSIONCLOSEDREQUIRESASLAUTH = -124


def refused_reply(label, c, opcode, body):
    """The request gets {xid, 0, -124} with no body, then the server closes."""
    try:
        xid, zxid, err, rest = c.call(opcode, body)
    except Exception as e:  # noqa: BLE001
        check(False, "%s -> err -124" % label, repr(e))
        c.close()
        return
    info("%s: reply xid=%d zxid=%d err=%d (%d bytes)" % (label, xid, zxid, err, 16 + len(rest)))
    check(err == SESSIONCLOSEDREQUIRESASLAUTH and xid == c.xid and zxid == 0 and rest == b"",
          "%s -> {xid echoed, zxid 0, err -124 SESSIONCLOSEDREQUIRESASLAUTH}, 16 bytes" % label,
          "xid %d zxid %d err %d, %d bytes" % (xid, zxid, err, 16 + len(rest)))
    closed, how = c.eof_within(5)
    check(closed, "%s: then the server closes the connection" % label, how)
    c.close()


def required_main(connect, alice_path):
    path = alice_path.encode()
    get_body = struct.pack(">i", len(path)) + path + b"\0"
    c, cli, second = raw_login(connect, "alice", "alice-secret", "alice")
    tok = second["token"] or b""
    check(second["err"] == 0 and re.match(rb"^rspauth=[0-9a-f]{32}$", tok) is not None,
          "alice: response -> err 0, rspauth=<32 hex>", repr(second))
    acl = struct.pack(">i", 1) + struct.pack(">i", 31) + struct.pack(">i", 5) + b"world" + struct.pack(">i", 6) + b"anyone"
    _, _, err, _ = c.call(1, struct.pack(">i", len(path)) + path + struct.pack(">i", 5) + b"hello" + acl
                          + struct.pack(">i", 0))
    check(err == 0, "alice: create %s" % alice_path, "err %d" % err)
    _, _, err, body = c.call(4, get_body)
    data = body[4:4 + struct.unpack(">i", body[:4])[0]] if err == 0 else None
    check(err == 0 and data == b"hello", "alice: getData %s = hello" % alice_path, "err %d data %r" % (err, data))
    c.close()

    c = Conn(connect)
    check(c.session != 0, "no SASL: ConnectRequest -> a session")
    refused_reply("no SASL: getData %s" % alice_path, c, 4, get_body)
    c = Conn(connect)
    auth = struct.pack(">i", 0) + struct.pack(">i", 6) + b"digest" + struct.pack(">i", 14) + b"bob:bob-secret"
    c.send(struct.pack(">ii", -4, 100) + auth)
    reply = c.frame()
    xid, _, err = struct.unpack(">iqi", reply[:16])
    check(xid == -4 and err == 0, "no SASL: auth digest bob:bob-secret -> err 0", "xid %d err %d" % (xid, err))
    refused_reply("no SASL, digest id: getData %s" % alice_path, c, 4, get_body)

    for user, password, label in (("alice", "not-alice-secret", "alice, wrong password"),
                                  ("mallory", "mallory-secret", "mallory, unknown user")):
        c, _, second = raw_login(connect, user, password, label)
        check(second["err"] == SESSIONCLOSEDREQUIRESASLAUTH and second["zxid"] == 0
              and second["xid"] == second["want_xid"],
              "%s: response -> err -124 SESSIONCLOSEDREQUIRESASLAUTH (not -115), zxid 0, xid echoed" % label,
              repr(second))
        check(second["token"] is None and second["raw_len"] == 20,
              "%s: null token (length -1, a 20-byte reply)" % label, repr(second))
        closed, how = c.eof_within(5)
        check(closed, "%s: then the server closes the connection" % label, how)
        c.close()

    kazoo_required(connect, alice_path)


def kazoo_required(connect, alice_path):
    import threading
    from kazoo.client import KazooClient
    from kazoo.exceptions import ConnectionClosedError, ConnectionLoss
    from kazoo_compat import KAZOO_HAS_124, KAZOO_VERSION, alternating_reconnects, wait_states
    if KAZOO_HAS_124:
        from kazoo.exceptions import SessionClosedRequireSaslError
    else:
        SessionClosedRequireSaslError = None

    class Errors(logging.Handler):
        def __init__(self):
            logging.Handler.__init__(self)
            self.records = []

        def emit(self, record):
            if record.exc_info:
                self.records.append((record.getMessage(), record.exc_info[1]))

    errors = Errors()
    log = logging.getLogger("kazoo")
    log.addHandler(errors)
    log.setLevel(logging.WARNING)
    log.propagate = False

    sasl = {"mechanism": "DIGEST-MD5", "username": "alice", "password": "alice-secret"}
    alice = KazooClient(hosts=connect, timeout=15, sasl_options=sasl)
    alice.start(timeout=20)
    data, _ = alice.get(alice_path)
    check(data == b"hello", "kazoo alice: get %s = hello" % alice_path, repr(data))

    for label, options in (("kazoo without SASL", None),
                           ("kazoo alice, wrong password", dict(sasl, password="not-alice-secret"))):
        del errors.records[:]
        c = KazooClient(hosts=connect, timeout=15, sasl_options=options)
        states = []
        c.add_listener(lambda s, states=states: states.append(str(s)))
        hook, threading.excepthook = threading.excepthook, lambda args: None
        # kazoo 2.11 without SASL: the -124 to the get is its exception, then the client
        # reconnects into the same session, again and again (kazoo_compat)
        retries = KAZOO_HAS_124 and options is None
        try:
            c.start(timeout=20)
            a = c.get_async(alice_path)
            wait_states(states, alternating_reconnects if retries else (lambda st: "LOST" in st), 10)
        finally:
            threading.excepthook = hook
        got = [(m, repr(e)) for m, e in errors.records]
        seen = list(states)
        info("%s: listener states %s, client_state %s, the get: %s, logged %r (kazoo %d.%d)"
             % (label, seen, c.client_state,
                (repr(a.exception) if a.exception else "value") if a.ready() else "never completes", got,
                *KAZOO_VERSION))
        if retries:
            check(alternating_reconnects(seen),
                  "%s: listener states CONNECTED, SUSPENDED, CONNECTED...: kazoo %d.%d reconnects into the session, never LOST"
                  % ((label,) + KAZOO_VERSION), repr(seen))
            check(got == [], "%s: nothing logged with an exception" % label, repr(got))
            check(a.ready() and isinstance(a.exception, SessionClosedRequireSaslError),
                  "%s: the get raises SessionClosedRequireSaslError (err -124)" % label,
                  repr(a.exception or a.value) if a.ready() else "never completes")
            later = SessionClosedRequireSaslError
        else:
            check(seen == ["CONNECTED", "LOST"], "%s: listener states CONNECTED, LOST" % label, repr(seen))
            if KAZOO_HAS_124:
                # kazoo 2.11, -124 to the SASL exchange: raised in the connection loop
                check(("Unhandled exception in connection loop", "SessionClosedRequireSaslError()") in got,
                      "%s: its connection thread ended on SessionClosedRequireSaslError (err -124)" % label, repr(got))
                check(a.ready() and isinstance(a.exception, ConnectionLoss),
                      "%s: the get raises ConnectionLoss" % label,
                      repr(a.exception or a.value) if a.ready() else "never completes")
            else:
                check(("Unhandled exception in connection loop", "RuntimeError('Invalid error code')") in got,
                      "%s: its connection thread ended on RuntimeError('Invalid error code') (err -124)" % label, repr(got))
                check(not (a.ready() and a.successful()), "%s: the get does not succeed" % label, repr(a.value))
            later = ConnectionClosedError
        try:
            c.get(alice_path)
            check(False, "%s: a later get raises %s" % (label, later.__name__), "it read the node")
        except later:
            check(True, "%s: a later get raises %s" % (label, later.__name__))
        except Exception as e:  # noqa: BLE001
            check(False, "%s: a later get raises %s" % (label, later.__name__), repr(e))
        c.stop()
        c.close()

    data, _ = alice.get(alice_path)
    check(data == b"hello", "kazoo alice: still reads after the refusals", repr(data))
    alice.delete(alice_path)
    check(alice.exists(alice_path) is None, "kazoo alice: delete %s" % alice_path)
    alice.stop()
    alice.close()


def main():
    mode, connect, alice_path = sys.argv[1:4]
    if mode == "kazoo":
        kazoo_main(connect, alice_path)
    elif mode == "raw":
        raw_main(connect, alice_path)
    elif mode == "required":
        required_main(connect, alice_path)
    else:
        raise SystemExit("unknown mode " + mode)
    print("%s: %s" % (mode, "all passed" if not FAILURES else "%d failed: %s" % (len(FAILURES), "; ".join(FAILURES))))
    sys.exit(1 if FAILURES else 0)


if __name__ == "__main__":
    main()
