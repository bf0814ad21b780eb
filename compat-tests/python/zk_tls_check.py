"""zk_tls_check: ZooKeeper's TLS client port (secureClientPort) from Python, for the zk-tls suite.

    python zk_tls_check.py kazoo    SECURE PLAIN CERT_DIR NODE CLIENT_DN
    python zk_tls_check.py negative SECURE PLAIN CERT_DIR NODE
    python zk_tls_check.py enforce  SECURE PLAIN CERT_DIR NODE CLIENT_DN

CERT_DIR holds ca.pem (the CA of the server's and the client's certificates), client.pem /
client.key (the client certificate, subject CLIENT_DN in RFC 2253 form), rogue-ca.pem and
rogue-client.pem / rogue-client.key (a second CA and a client certificate it signed, with
the same subject). The server runs with ssl.clientAuth=need and
ssl.enabledProtocols=TLSv1.3,TLSv1.2.

kazoo: kazoo's own TLS support (use_ssl=True, certfile, keyfile, ca; kazoo turns
  check_hostname off but verifies the chain) next to a plain kazoo on clientPort: create
  over TLS, get on the plain port, set on the plain port, get (version 1) over TLS, set
  over TLS with version 1, get on the plain port; a DataWatch over TLS sees the plain
  port's set and a ChildrenWatch over TLS sees a child the plain port makes; NODE/x509
  with ACL x509:CLIENT_DN:cdrwa made by kazoo over TLS reads over TLS, the plain kazoo
  gets NoAuthError; everything is deleted over TLS and the plain port sees NODE gone.

negative: raw sockets and Python's ssl module (OpenSSL 3) speaking ZooKeeper's protocol
  (ConnectRequest, then getData / create / delete frames). A "good" client is TLS with the
  client certificate, verifying the server (ca.pem, server_hostname 127.0.0.1 against the
  certificate's SAN IP:127.0.0.1). Checks:
  - good clients with TLS 1.3 and with TLS 1.2 (maximum_version) both get a session
    (ConnectResponse: timeout 30000, a session id) and read NODE; the server's
    certificate is CN=127.0.0.1; the TLS 1.3 client negotiates TLSv1.3 (the highest both
    sides enable).
    Apache 3.9.4 on Java 17: TLS_AES_256_GCM_SHA384 and ECDHE-RSA-AES128-GCM-SHA256.
    (Without ssl.enabledProtocols Apache enables TLSv1.3 alone on Java 17: a TLS 1.2
    ClientHello then gets alert protocol_version; the suite's header says why the suite
    sets it.)
  - four-letter words over TLS: "ruok" -> "imok" and "srvr" -> its report with
    "Mode: standalone", then the server closes: Apache answers them on the TLS port as on
    the plain one (NettyServerCnxn checks the first four bytes after the handshake).
  - a plain ConnectRequest sent to the TLS port: no ConnectResponse, the connection is
    closed. Apache (Netty's SslHandler: NotSslRecordException) closes it at once without
    sending anything (not even an alert).
  - "ruok" in plaintext to the TLS port: no "imok". Apache sends nothing and keeps the
    connection open (its SslHandler waits for a 5-byte record header); the check only
    asserts that no answer comes within 2 s.
  - a TLS client without a certificate (TLS 1.3, then TLS 1.2): no session. Apache: TLS
    1.3's handshake completes on the client's side, then the server's alert arrives at
    the first read ("SSLV3_ALERT_BAD_CERTIFICATE", alert 42 bad_certificate, Java's
    "Empty client certificate chain"); TLS 1.2's handshake fails with the same alert.
  - a client certificate from the rogue CA (TLS 1.3, then TLS 1.2): no session. Apache:
    alert 46 certificate_unknown ("SSLV3_ALERT_CERTIFICATE_UNKNOWN": PKIX path building
    failed), at the first read for TLS 1.3, in the handshake for TLS 1.2.
  - a client that trusts only the rogue CA: its handshake fails on its side
    (SSLCertVerificationError, "self-signed certificate in certificate chain": the server
    sends its chain up to the CA).
  Only what any correct TLS server must do is asserted (a handshake failure or a closed
  connection, no ZooKeeper reply); alert names are recorded as info lines. After each case
  a good TLS client and a plain client still get a session and read NODE.

enforce: a server with the same TLS set-up plus enforce.auth.enabled=true and
  enforce.auth.schemes=x509 (Apache's AuthenticationHelper: any request but auth (100) and
  sasl (102) from a connection without an x509 id gets ReplyHeader{xid, zxid 0, err -124
  SESSIONCLOSEDREQUIRESASLAUTH} with no body, then the server closes the connection).
  Raw sockets:
  - TLS with the client certificate: a session, create NODE, getData, whoAmI = [x509
    CLIENT_DN, ip 127.0.0.1] (the certificate gives the x509 id at the handshake).
  - plain: the ConnectRequest gets a ConnectResponse (timeout 30000, a session id: a
    session is opened); then getData NODE -> a 16-byte reply {xid echoed, zxid 0, err
    -124}, then EOF. The same for a ping (xid -2, opcode 11), whoAmI (107), and
    closeSession (-11): none of them is served.
  - plain, auth packet digest bob:bob-secret (xid -4, opcode 100) -> err 0 (the digest
    provider accepts it: auth is always allowed), then getData -> err -124 and EOF (digest
    is not an enforced scheme).
  - the closeSession that got -124 did not close the session: a ConnectRequest carrying its
    id and password gets a ConnectResponse with that id and timeout 30000 (Apache closes
    the connection only; the session lives until it expires), and is refused again.
  kazoo: with use_ssl and the certificate it creates NODE/kazoo and reads it. Without
  TLS: start() connects (CONNECTED), then a get's reply carries err -124, which kazoo
  2.10 has no exception class for: EXCEPTIONS[-124] raises RuntimeError("Invalid error
  code") in its connection thread ("Unhandled exception in connection loop"), the thread
  ends, the listener sees LOST, the get's async result is never set (a plain get() would
  block forever: the check uses get_async), and a get after that raises
  ConnectionClosedError. kazoo 2.11 (SessionClosedRequireSaslError, kazoo_compat.py):
  the get raises it, kazoo reconnects into the session again and again (CONNECTED,
  SUSPENDED, CONNECTED..., never LOST), nothing is logged, and a later get raises it
  again.
  Finally the TLS session still reads NODE and deletes it.

Prints ok/FAIL lines (and info lines recording what was seen); exit 0 iff all passed.
"""

import os
import socket
import ssl
import struct
import sys
import threading
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


def hostport(connect):
    host, port = connect.rsplit(":", 1)
    return host, int(port)


# --- kazoo ------------------------------------------------------------------------------

def kazoo_main(secure, plain, certs, node, dn):
    from kazoo.client import KazooClient
    from kazoo.exceptions import NoAuthError
    from kazoo.security import make_acl

    tls = KazooClient(hosts=secure, timeout=15, use_ssl=True, verify_certs=True,
                      certfile=os.path.join(certs, "client.pem"),
                      keyfile=os.path.join(certs, "client.key"),
                      ca=os.path.join(certs, "ca.pem"))
    tls.start(timeout=20)
    check(tls.connected, "kazoo tls: connected to the TLS port")
    pl = KazooClient(hosts=plain, timeout=15)
    pl.start(timeout=20)

    tls.create(node, b"kazoo-tls")
    data, _ = pl.get(node)
    check(data == b"kazoo-tls", "plain: get %s = kazoo-tls (written over TLS)" % node, repr(data))
    pl.set(node, b"kazoo-plain", version=0)
    data, st = tls.get(node)
    check(data == b"kazoo-plain" and st.version == 1, "kazoo tls: get = kazoo-plain, version 1 (set on the plain port)",
          "%r version %d" % (data, st.version))
    tls.set(node, b"kazoo-tls-2", version=1)
    data, _ = pl.get(node)
    check(data == b"kazoo-tls-2", "plain: get = kazoo-tls-2 (versioned set over TLS)", repr(data))

    seen_data, seen_children = [], []
    got_data, got_children = threading.Event(), threading.Event()

    def on_data(data, stat):
        seen_data.append(data)
        if data == b"watched":
            got_data.set()

    def on_children(children):
        seen_children.append(list(children))
        if "from-plain" in children:
            got_children.set()

    tls.DataWatch(node, on_data)
    tls.ChildrenWatch(node, on_children)
    pl.set(node, b"watched")
    check(got_data.wait(15), "kazoo tls: DataWatch fires on the plain port's set", repr(seen_data))
    pl.create(node + "/from-plain", b"p")
    check(got_children.wait(15), "kazoo tls: ChildrenWatch fires on the plain port's create", repr(seen_children))

    x = node + "/x509"
    tls.create(x, b"secret", acl=[make_acl("x509", dn, all=True)])
    data, _ = tls.get(x)
    check(data == b"secret", "kazoo tls: get %s (ACL x509:%s:cdrwa)" % (x, dn), repr(data))
    acls, _ = tls.get_acls(x)
    got = [(a.id.scheme, a.id.id, a.perms) for a in acls]
    check(got == [("x509", dn, 31)], "kazoo tls: get_acls = x509:%s:31" % dn, repr(got))
    try:
        pl.get(x)
        check(False, "plain: get %s raises NoAuthError" % x, "it read the node")
    except NoAuthError:
        check(True, "plain: get %s raises NoAuthError" % x)

    tls.delete(node, recursive=True)
    check(pl.exists(node) is None, "plain: %s is gone after the recursive delete over TLS" % node)
    for c in (tls, pl):
        c.stop()
        c.close()


# --- raw ZooKeeper over a plain or TLS socket --------------------------------------------------

CONNECT_REQUEST = struct.pack(">iqiq", 0, 0, 30000, 0) + struct.pack(">i", 16) + b"\0" * 16 + b"\0"


def frame(payload):
    return struct.pack(">i", len(payload)) + payload


def ustring(s):
    b = s.encode()
    return struct.pack(">i", len(b)) + b


class Session:
    """A ZooKeeper session on an already connected (plain or TLS) socket."""

    def __init__(self, sock):
        self.s = sock
        self.xid = 0
        self.s.sendall(frame(CONNECT_REQUEST))
        resp = self.frame()
        _, self.timeout, self.session = struct.unpack(">iiq", resp[:16])

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
        self.s.sendall(frame(struct.pack(">ii", self.xid, opcode) + body))
        reply = self.frame()
        _, _, err = struct.unpack(">iqi", reply[:16])
        return err, reply[16:]

    def get_data(self, path):
        err, body = self.call(4, ustring(path) + b"\0")
        if err != 0:
            return "err %d" % err
        return body[4:4 + struct.unpack(">i", body[:4])[0]]

    def create(self, path, data):
        acl = struct.pack(">i", 1) + struct.pack(">i", 31) + ustring("world") + ustring("anyone")
        err, _ = self.call(1, ustring(path) + struct.pack(">i", len(data)) + data + acl + struct.pack(">i", 0))
        return err

    def delete(self, path):
        err, _ = self.call(2, ustring(path) + struct.pack(">i", -1))
        return err

    def close(self):
        try:
            self.call(-11, b"")
        except Exception:  # noqa: BLE001 - the server may close first
            pass
        self.s.close()


class Tls:
    def __init__(self, certs, secure):
        self.certs = certs
        self.addr = hostport(secure)

    def context(self, cert="client", ca="ca.pem", max_version=None):
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.load_verify_locations(os.path.join(self.certs, ca))
        if cert:
            ctx.load_cert_chain(os.path.join(self.certs, cert + ".pem"), os.path.join(self.certs, cert + ".key"))
        if max_version:
            ctx.maximum_version = max_version
        return ctx

    def connect(self, ctx):
        raw = socket.create_connection(self.addr, timeout=10)
        try:
            return ctx.wrap_socket(raw, server_hostname="127.0.0.1")
        except Exception:
            raw.close()
            raise


def read_until_close(sock, seconds):
    """(bytes, how): what arrives until the peer closes ("EOF"), an error, or time runs out."""
    sock.settimeout(seconds)
    out = b""
    try:
        while True:
            b = sock.recv(65536)
            if not b:
                return out, "EOF"
            out += b
    except socket.timeout:
        return out, "still open after %ss" % seconds
    except ssl.SSLError as e:
        return out, "SSLError %s" % e.reason if e.reason else repr(e)
    except OSError as e:
        return out, repr(e)


def refused(tls, ctx, label):
    """A client the server must not serve: the handshake fails, or the connection ends
    (alert, EOF or reset) before any ZooKeeper reply. Records what happened."""
    try:
        s = tls.connect(ctx)
    except ssl.SSLError as e:
        info("%s: handshake failed: %s (%s)" % (label, e.reason, e.__class__.__name__))
        check(True, "%s: no session (handshake fails)" % label)
        return
    except OSError as e:
        info("%s: connection failed: %r" % (label, e))
        check(True, "%s: no session (connection fails)" % label)
        return
    info("%s: handshake completed on the client's side (%s)" % (label, s.version()))
    try:
        s.sendall(frame(CONNECT_REQUEST))
    except OSError as e:
        info("%s: sending the ConnectRequest failed: %r" % (label, e))
    out, how = read_until_close(s, 5)
    info("%s: then %d bytes, %s" % (label, len(out), how))
    check(out == b"" and not how.startswith("still open"),
          "%s: no session (no ConnectResponse, the connection ends)" % label, "%d bytes, %s" % (len(out), how))
    s.close()


def good_tls(tls, ctx, node, data, label):
    """A session over TLS that reads NODE; returns the negotiated version ("" on failure)."""
    try:
        s = tls.connect(ctx)
        version, cipher = s.version(), s.cipher()[0]
        cn = dict(x[0] for x in s.getpeercert()["subject"]).get("commonName")
        sess = Session(s)
        got = sess.get_data(node)
        sess.close()
    except Exception as e:  # noqa: BLE001 - record it
        check(False, "%s: TLS session reads %s" % (label, node), repr(e))
        return ""
    check(got == data and sess.timeout == 30000 and sess.session != 0,
          "%s: TLS session (%s) reads %s" % (label, version, node),
          "data %r timeout %d session %x" % (got, sess.timeout, sess.session))
    info("%s: %s %s, server certificate CN=%s" % (label, version, cipher, cn))
    check(cn == "127.0.0.1", "%s: the server's certificate is CN=127.0.0.1" % label, repr(cn))
    return version


def good_plain(plain, node, data, label):
    try:
        sess = Session(socket.create_connection(hostport(plain), timeout=10))
        got = sess.get_data(node)
        sess.close()
    except Exception as e:  # noqa: BLE001
        check(False, "%s: plain session reads %s" % (label, node), repr(e))
        return
    check(got == data, "%s: plain session reads %s" % (label, node), repr(got))


def negative_main(secure, plain, certs, node):
    tls = Tls(certs, secure)
    data = b"negative-" + node.encode()
    s = Session(tls.connect(tls.context()))
    check(s.create(node, data) == 0, "tls: create %s" % node)
    s.close()

    def still_served(after):
        good_tls(tls, tls.context(), node, data, "after " + after)
        good_plain(plain, node, data, "after " + after)

    v = good_tls(tls, tls.context(), node, data, "TLS 1.3 client")
    check(v == "TLSv1.3", "TLS 1.3 client: negotiates TLSv1.3", v)
    v = good_tls(tls, tls.context(max_version=ssl.TLSVersion.TLSv1_2), node, data, "TLS 1.2 client")
    check(v == "TLSv1.2", "TLS 1.2 client: negotiates TLSv1.2 (ssl.enabledProtocols=TLSv1.3,TLSv1.2)", v)
    good_plain(plain, node, data, "plain client")

    for word, want in (("ruok", "imok"), ("srvr", "Mode: standalone")):
        try:
            c = tls.connect(tls.context())
            c.sendall(word.encode())
            out, how = read_until_close(c, 5)
            c.close()
        except Exception as e:  # noqa: BLE001
            out, how = b"", repr(e)
        text = out.decode("utf-8", "replace")
        info("%s over TLS: %r, then %s" % (word, text[:60], how))
        check(want in text and how == "EOF", "%s over TLS answers (%r) and the server closes" % (word, want),
              "%r, %s" % (text, how))

    # a plain ConnectRequest to the TLS port
    c = socket.create_connection(hostport(secure), timeout=10)
    c.sendall(frame(CONNECT_REQUEST))
    t0 = time.time()
    out, how = read_until_close(c, 5)
    c.close()
    info("plain ConnectRequest to the TLS port: %d bytes %r, %s after %.2fs" % (len(out), out[:16], how, time.time() - t0))
    check(not how.startswith("still open") and (out == b"" or out[:1] == b"\x15"),
          "plain ConnectRequest to the TLS port: no ConnectResponse, the connection is closed",
          "%r, %s" % (out, how))
    still_served("a plain ConnectRequest")

    c = socket.create_connection(hostport(secure), timeout=10)
    c.sendall(b"ruok")
    out, how = read_until_close(c, 2)
    c.close()
    info("plaintext ruok to the TLS port: %r, %s" % (out, how))
    check(b"imok" not in out, "plaintext ruok to the TLS port: no imok", repr(out))

    for label, ctx in (
            ("TLS 1.3 client without a certificate", tls.context(cert=None)),
            ("TLS 1.2 client without a certificate", tls.context(cert=None, max_version=ssl.TLSVersion.TLSv1_2)),
            ("TLS 1.3 client with the rogue CA's certificate", tls.context(cert="rogue-client")),
            ("TLS 1.2 client with the rogue CA's certificate",
             tls.context(cert="rogue-client", max_version=ssl.TLSVersion.TLSv1_2))):
        refused(tls, ctx, label)
        still_served(label)

    label = "client trusting only the rogue CA"
    try:
        c = tls.connect(tls.context(ca="rogue-ca.pem"))
        c.close()
        check(False, "%s: its handshake fails (certificate verify failed)" % label, "handshake completed")
    except ssl.SSLCertVerificationError as e:
        info("%s: %s" % (label, e.verify_message))
        check(True, "%s: its handshake fails (certificate verify failed)" % label)
    except Exception as e:  # noqa: BLE001
        check(False, "%s: its handshake fails (certificate verify failed)" % label, repr(e))
    still_served(label)

    s = Session(tls.connect(tls.context()))
    check(s.delete(node) == 0, "tls: delete %s" % node)
    s.close()


# --- enforce.auth.enabled=true, enforce.auth.schemes=x509 ------------------------------------------

SESSIONCLOSEDREQUIRESASLAUTH = -124


def raw_call(sess, xid, opcode, body):
    """One request with an explicit xid: (xid, zxid, err, reply length, reply body)."""
    sess.s.sendall(frame(struct.pack(">ii", xid, opcode) + body))
    reply = sess.frame()
    rxid, zxid, err = struct.unpack(">iqi", reply[:16])
    return rxid, zxid, err, len(reply), reply[16:]


def connect_with(plain, session_id, passwd):
    """A ConnectRequest resuming a session: (sock, timeout, session id)."""
    sock = socket.create_connection(hostport(plain), timeout=10)
    req = struct.pack(">iqiq", 0, 0, 30000, session_id) + struct.pack(">i", len(passwd)) + passwd + b"\0"
    sock.sendall(frame(req))
    sess = Session.__new__(Session)
    sess.s, sess.xid = sock, 0
    resp = sess.frame()
    _, timeout, sid = struct.unpack(">iiq", resp[:16])
    return sess, timeout, sid


def session_passwd(sess_resp):
    n = struct.unpack(">i", sess_resp[16:20])[0]
    return sess_resp[20:20 + n]


class PlainSession(Session):
    """A plain session that keeps its ConnectResponse (for the password)."""

    def __init__(self, plain):
        self.s = socket.create_connection(hostport(plain), timeout=10)
        self.xid = 0
        self.s.sendall(frame(CONNECT_REQUEST))
        self.resp = self.frame()
        _, self.timeout, self.session = struct.unpack(">iiq", self.resp[:16])


def refused_reply(label, sess, xid, opcode, body):
    """The request gets {xid, 0, -124} and nothing else, then the server closes."""
    try:
        rxid, zxid, err, n, _ = raw_call(sess, xid, opcode, body)
    except Exception as e:  # noqa: BLE001
        check(False, "%s -> err -124" % label, repr(e))
        sess.s.close()
        return
    info("%s: reply xid=%d zxid=%d err=%d (%d bytes)" % (label, rxid, zxid, err, n))
    check(err == SESSIONCLOSEDREQUIRESASLAUTH and rxid == xid and zxid == 0 and n == 16,
          "%s -> {xid %d, zxid 0, err -124 SESSIONCLOSEDREQUIRESASLAUTH}, 16 bytes" % (label, xid),
          "xid %d zxid %d err %d, %d bytes" % (rxid, zxid, err, n))
    out, how = read_until_close(sess.s, 5)
    check(out == b"" and how in ("EOF", "ConnectionResetError(104, 'Connection reset by peer')"),
          "%s: then the server closes the connection" % label, "%r, %s" % (out, how))
    sess.s.close()


def enforce_main(secure, plain, certs, node, dn):
    tls = Tls(certs, secure)
    data = b"enforce-" + node.encode()
    t = Session(tls.connect(tls.context()))
    check(t.timeout == 30000 and t.session != 0, "tls: session (timeout 30000)", "timeout %d" % t.timeout)
    check(t.create(node, data) == 0, "tls: create %s" % node)
    check(t.get_data(node) == data, "tls: getData %s" % node)
    err, body = t.call(107, b"")
    ids, pos = [], 4
    for _ in range(struct.unpack(">i", body[:4])[0] if err == 0 else 0):
        n = struct.unpack(">i", body[pos:pos + 4])[0]
        scheme = body[pos + 4:pos + 4 + n].decode()
        pos += 4 + n
        n = struct.unpack(">i", body[pos:pos + 4])[0]
        ids.append((scheme, body[pos + 4:pos + 4 + n].decode()))
        pos += 4 + n
    check(err == 0 and ids == [("x509", dn), ("ip", "127.0.0.1")], "tls: whoAmI = [x509 %s, ip 127.0.0.1]" % dn,
          "err %d %r" % (err, ids))

    path = ustring(node) + b"\0"
    s = PlainSession(plain)
    check(s.timeout == 30000 and s.session != 0, "plain: ConnectRequest -> a session (timeout 30000)",
          "timeout %d session %x" % (s.timeout, s.session))
    refused_reply("plain: getData %s" % node, s, 1, 4, path)
    refused_reply("plain: ping (xid -2)", PlainSession(plain), -2, 11, b"")
    refused_reply("plain: whoAmI", PlainSession(plain), 1, 107, b"")

    s = PlainSession(plain)
    auth = struct.pack(">i", 0) + ustring("digest") + struct.pack(">i", 14) + b"bob:bob-secret"
    rxid, zxid, err, n, _ = raw_call(s, -4, 100, auth)
    check(rxid == -4 and err == 0 and n == 16, "plain: auth digest bob:bob-secret (xid -4) -> err 0",
          "xid %d err %d, %d bytes" % (rxid, err, n))
    refused_reply("plain, digest id: getData %s" % node, s, 1, 4, path)

    s = PlainSession(plain)
    sid, pw = s.session, session_passwd(s.resp)
    refused_reply("plain: closeSession", s, 1, -11, b"")
    try:
        r, timeout, got = connect_with(plain, sid, pw)
        check(got == sid and timeout == 30000,
              "plain: the session survives the refused closeSession (resuming it -> same id, timeout 30000)",
              "session %x timeout %d (want %x)" % (got, timeout, sid))
        refused_reply("plain, resumed session: getData %s" % node, r, 1, 4, path)
    except Exception as e:  # noqa: BLE001
        check(False, "plain: resuming the session", repr(e))

    kazoo_enforce(secure, plain, certs, node)

    check(t.get_data(node) == data, "tls: still reads %s after the refusals" % node)
    check(t.delete(node) == 0, "tls: delete %s" % node)
    t.close()


def kazoo_enforce(secure, plain, certs, node):
    import logging
    from kazoo.client import KazooClient
    from kazoo.exceptions import ConnectionClosedError
    from kazoo_compat import KAZOO_HAS_124, KAZOO_VERSION, alternating_reconnects, wait_states
    if KAZOO_HAS_124:
        from kazoo.exceptions import SessionClosedRequireSaslError

    class Records(logging.Handler):
        def __init__(self):
            logging.Handler.__init__(self)
            self.records = []

        def emit(self, record):
            exc = record.exc_info[1] if record.exc_info else None
            self.records.append((record.getMessage(), exc))

    records = Records()
    logging.getLogger("kazoo").addHandler(records)
    logging.getLogger("kazoo").setLevel(logging.WARNING)
    logging.getLogger("kazoo").propagate = False

    k = KazooClient(hosts=secure, timeout=15, use_ssl=True, verify_certs=True,
                    certfile=os.path.join(certs, "client.pem"), keyfile=os.path.join(certs, "client.key"),
                    ca=os.path.join(certs, "ca.pem"))
    k.start(timeout=20)
    k.create(node + "/kazoo", b"kazoo-tls")
    data, _ = k.get(node + "/kazoo")
    check(data == b"kazoo-tls", "kazoo tls: create and get %s/kazoo" % node, repr(data))

    c = KazooClient(hosts=plain, timeout=15)
    states = []
    c.add_listener(lambda s: states.append(str(s)))
    # kazoo 2.10: the connection thread dies with an exception kazoo does not catch; keep
    # it quiet. kazoo 2.11: the get raises SessionClosedRequireSaslError, and the client
    # reconnects into the same session, again and again (kazoo_compat)
    hook, threading.excepthook = threading.excepthook, lambda args: None
    try:
        c.start(timeout=20)
        check(c.connected, "kazoo plain: start() connects (a session)")
        a = c.get_async(node)
        wait_states(states, alternating_reconnects if KAZOO_HAS_124 else (lambda st: "LOST" in st), 10)
    finally:
        threading.excepthook = hook
    errors = [(m, e) for m, e in records.records if e is not None]
    seen = list(states)
    info("kazoo plain: listener states %s, client_state %s, get_async ready %s (%r), logged %r (kazoo %d.%d)"
         % (seen, c.client_state, a.ready(), (a.exception or a.value) if a.ready() else None,
            [(m, repr(e)) for m, e in errors], *KAZOO_VERSION))
    if KAZOO_HAS_124:
        check(alternating_reconnects(seen),
              "kazoo plain: listener states CONNECTED, SUSPENDED, CONNECTED...: kazoo %d.%d reconnects into the session, never LOST"
              % KAZOO_VERSION, repr(seen))
        check(errors == [], "kazoo plain: nothing logged with an exception", repr(records.records))
        check(a.ready() and isinstance(a.exception, SessionClosedRequireSaslError),
              "kazoo plain: the get raises SessionClosedRequireSaslError (err -124)",
              repr(a.exception or a.value) if a.ready() else "never completes")
        later = SessionClosedRequireSaslError
    else:
        check(seen == ["CONNECTED", "LOST"], "kazoo plain: listener states CONNECTED, LOST", repr(seen))
        check(any(m == "Unhandled exception in connection loop" and isinstance(e, RuntimeError)
                  and str(e) == "Invalid error code" for m, e in errors),
              "kazoo plain: its connection thread ended on RuntimeError('Invalid error code') (err -124 has no kazoo exception)",
              repr(records.records))
        check(not a.ready(), "kazoo plain: the get never completes", "ready: %r" % (a.exception or a.value,))
        later = ConnectionClosedError
    try:
        c.get(node)
        check(False, "kazoo plain: a later get raises %s" % later.__name__, "it read the node")
    except later:
        check(True, "kazoo plain: a later get raises %s" % later.__name__)
    except Exception as e:  # noqa: BLE001
        check(False, "kazoo plain: a later get raises %s" % later.__name__, repr(e))
    c.stop()
    c.close()

    data, _ = k.get(node + "/kazoo")
    check(data == b"kazoo-tls", "kazoo tls: still reads after the plain client's refusal", repr(data))
    k.delete(node + "/kazoo")
    k.stop()
    k.close()


def main():
    mode, secure, plain, certs, node = sys.argv[1:6]
    if mode == "kazoo":
        kazoo_main(secure, plain, certs, node, sys.argv[6])
    elif mode == "negative":
        negative_main(secure, plain, certs, node)
    elif mode == "enforce":
        enforce_main(secure, plain, certs, node, sys.argv[6])
    else:
        raise SystemExit("unknown mode " + mode)
    print("%s: %s" % (mode, "all passed" if not FAILURES else "%d failed: %s" % (len(FAILURES), "; ".join(FAILURES))))
    sys.exit(1 if FAILURES else 0)


if __name__ == "__main__":
    main()
