"""kafka_sasl_check: a broker's SASL_PLAINTEXT listener on raw sockets, byte by byte.

    kafka_sasl_check.py wait-auth SASL_ADDR MECHANISM USER PASSWORD [SECONDS]
    kafka_sasl_check.py negative  SASL_ADDR PLAINTEXT_ADDR
    kafka_sasl_check.py reauth    SASL_ADDR LIFETIME_MS

No client library sits between this program and the bytes, so it sees exactly which
error code and message a broker returns and when it closes a connection. The
expectations are Apache Kafka 3.9's (ZooKeeper mode), read from its source
(SaslServerAuthenticator, ScramSaslServer, PlainSaslServer, SocketServer, KafkaApis)
and confirmed against an Apache 3.9.1 broker with sasl.enabled.mechanisms =
PLAIN,SCRAM-SHA-256,SCRAM-SHA-512; a target must return the same. The users are the
compat suite's (suites/kafka-sasl.sh): PLAIN admin/alice from the listener's JAAS line,
SCRAM-SHA-256 alice256, SCRAM-SHA-512 bob512.

wait-auth: authenticates (ApiVersions v0, SaslHandshake v1, SaslAuthenticate v1) until
  it succeeds and a Metadata request is answered (SCRAM users are created while the
  broker runs: it learns them from ZooKeeper asynchronously), at most SECONDS.

negative: every check prints a line to stderr; any difference fails (exit 1) and is
  named in the summary. See the checks in negative() below.

reauth: against a broker with connections.max.reauth.ms=LIFETIME_MS (KIP-368). See
  reauth() below.
"""
import base64
import hashlib
import hmac
import os
import socket
import struct
import sys
import time

API_METADATA, API_SASL_HANDSHAKE, API_API_VERSIONS, API_SASL_AUTHENTICATE = 3, 17, 18, 36

NONE, UNSUPPORTED_SASL_MECHANISM, ILLEGAL_SASL_STATE, SASL_AUTHENTICATION_FAILED = 0, 33, 34, 58

# SaslHandshake's mechanisms as Apache 3.9 lists them: SaslServerAuthenticator keeps
# `new ArrayList<>(new HashSet<>(sasl.enabled.mechanisms))`, i.e. java.util.HashSet's
# iteration order, not the configured one: with 16 buckets PLAIN and SCRAM-SHA-512 hash
# to bucket 0 (chained in the configured order), SCRAM-SHA-256 to bucket 6.
APACHE_MECHANISMS = ["PLAIN", "SCRAM-SHA-512", "SCRAM-SHA-256"]

# PlainSaslServer: SaslAuthenticationException, its message goes to the client.
MSG_PLAIN_BAD = "Authentication failed: Invalid username or password"
# ScramSaslServer throws SaslException (unknown user, wrong proof): the authenticator
# hides its text and sends this, so a client cannot tell an unknown user from a wrong
# password.
MSG_SCRAM_BAD = "Authentication failed during authentication due to invalid credentials with SASL mechanism %s"
# KafkaApis.handleSaslAuthenticateRequest: a SaslAuthenticate on an authenticated connection.
MSG_AUTH_AFTER_AUTH = "SaslAuthenticate request received after successful authentication"
# SaslServerAuthenticator.ReauthInfo.ensurePrincipalUnchanged
MSG_PRINCIPAL_CHANGE = "Cannot change principals during re-authentication from User.%s: User.%s"

USERS = {
    "PLAIN": ("alice", "alice-secret"),
    "SCRAM-SHA-256": ("alice256", "alice256-secret"),
    "SCRAM-SHA-512": ("bob512", "bob512-secret"),
}


class Closed(Exception):
    pass


class Fail(Exception):
    pass


def addr(text):
    host, port = text.rsplit(":", 1)
    return host, int(port)


# --- wire ------------------------------------------------------------------------------

def s16(text):
    raw = text.encode()
    return struct.pack(">h", len(raw)) + raw


def b32(raw):
    return struct.pack(">i", len(raw)) + raw


class Reader:
    def __init__(self, data):
        self.data, self.pos = data, 0

    def take(self, n):
        if self.pos + n > len(self.data):
            raise Fail("response too short (%d bytes, wanted %d more at %d)" % (len(self.data), n, self.pos))
        out = self.data[self.pos:self.pos + n]
        self.pos += n
        return out

    def i16(self):
        return struct.unpack(">h", self.take(2))[0]

    def i32(self):
        return struct.unpack(">i", self.take(4))[0]

    def i64(self):
        return struct.unpack(">q", self.take(8))[0]

    def string(self):
        n = self.i16()
        return None if n < 0 else self.take(n).decode()

    def bytes32(self):
        n = self.i32()
        return None if n < 0 else self.take(n)


class Conn:
    def __init__(self, address, timeout=10.0):
        self.sock = socket.create_connection(address, timeout=timeout)
        self.timeout = timeout
        self.corr = 0

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    def send_raw(self, payload):
        self.sock.sendall(struct.pack(">i", len(payload)) + payload)

    def send(self, key, version, body):
        self.corr += 1
        cid = b"kafka-sasl-check"
        header = struct.pack(">hhih", key, version, self.corr, len(cid)) + cid
        self.send_raw(header + body)
        return self.corr

    def _recv(self, n):
        out = b""
        while len(out) < n:
            try:
                chunk = self.sock.recv(n - len(out))
            except ConnectionResetError:
                chunk = b""
            if not chunk:
                raise Closed("connection closed after %d of %d bytes" % (len(out), n))
            out += chunk
        return out

    def recv_frame(self, timeout=None):
        self.sock.settimeout(timeout or self.timeout)
        try:
            n = struct.unpack(">i", self._recv(4))[0]
            return self._recv(n)
        except socket.timeout:
            raise Fail("no answer within %.0fs" % (timeout or self.timeout))

    def call(self, key, version, body):
        corr = self.send(key, version, body)
        frame = self.recv_frame()
        got = struct.unpack(">i", frame[:4])[0]
        if got != corr:
            raise Fail("correlation id %d in the response, expected %d" % (got, corr))
        return Reader(frame[4:])

    def closed_within(self, seconds):
        """True when the peer closes the connection within SECONDS without sending a byte;
        raises Fail when it sends something or keeps the connection open."""
        self.sock.settimeout(seconds)
        try:
            data = self.sock.recv(65536)
        except socket.timeout:
            raise Fail("connection still open after %.0fs" % seconds)
        except ConnectionResetError:
            return True
        if data:
            raise Fail("expected the connection closed, got %d bytes: %r" % (len(data), data[:40]))
        return True


# --- requests ----------------------------------------------------------------------------

def api_versions(c):
    r = c.call(API_API_VERSIONS, 0, b"")
    err, n = r.i16(), r.i32()
    keys = {}
    for _ in range(n):
        k, lo, hi = r.i16(), r.i16(), r.i16()
        keys[k] = (lo, hi)
    return err, keys


def handshake(c, mechanism, version=1):
    r = c.call(API_SASL_HANDSHAKE, version, s16(mechanism))
    err, n = r.i16(), r.i32()
    return err, [r.string() for _ in range(max(n, 0))]


def authenticate(c, token, version=1):
    """SaslAuthenticate v0/v1: (error, message, auth_bytes, session_lifetime_ms or None)."""
    r = c.call(API_SASL_AUTHENTICATE, version, b32(token))
    err, msg, data = r.i16(), r.string(), r.bytes32()
    lifetime = r.i64() if version >= 1 else None
    return err, msg, data, lifetime


def metadata(c):
    """Metadata v1 for no topics: the brokers as [(node_id, host, port)]."""
    r = c.call(API_METADATA, 1, struct.pack(">i", 0))
    brokers = []
    for _ in range(r.i32()):
        node, host, port = r.i32(), r.string(), r.i32()
        r.string()  # rack
        brokers.append((node, host, port))
    return brokers


# --- mechanisms ----------------------------------------------------------------------------

def plain_token(user, password):
    return b"\x00" + user.encode() + b"\x00" + password.encode()


class Scram:
    """The client side of RFC 5802 (no channel binding: gs2 header "n,,")."""

    def __init__(self, mechanism, user, password):
        self.hash = {"SCRAM-SHA-256": "sha256", "SCRAM-SHA-512": "sha512"}[mechanism]
        self.user, self.password = user, password
        self.nonce = base64.b64encode(os.urandom(18)).decode()
        self.first_bare = "n=%s,r=%s" % (user.replace("=", "=3D").replace(",", "=2C"), self.nonce)
        self.server_signature = None

    def first(self):
        return ("n,," + self.first_bare).encode()

    def final(self, server_first):
        text = server_first.decode()
        attrs = dict(part.split("=", 1) for part in text.split(","))
        if not attrs["r"].startswith(self.nonce):
            raise Fail("server nonce %r does not extend ours" % attrs["r"])
        salted = hashlib.pbkdf2_hmac(self.hash, self.password.encode(),
                                     base64.b64decode(attrs["s"]), int(attrs["i"]))
        client_key = hmac.new(salted, b"Client Key", self.hash).digest()
        stored_key = hashlib.new(self.hash, client_key).digest()
        without_proof = "c=biws,r=" + attrs["r"]
        auth_message = ",".join([self.first_bare, text, without_proof]).encode()
        signature = hmac.new(stored_key, auth_message, self.hash).digest()
        proof = bytes(a ^ b for a, b in zip(client_key, signature))
        server_key = hmac.new(salted, b"Server Key", self.hash).digest()
        self.server_signature = hmac.new(server_key, auth_message, self.hash).digest()
        return (without_proof + ",p=" + base64.b64encode(proof).decode()).encode()

    def check_final(self, server_final):
        text = server_final.decode()
        if text != "v=" + base64.b64encode(self.server_signature).decode():
            raise Fail("server-final-message %r does not carry the server signature" % text)


def login(c, mechanism, user, password, hs_version=1, auth_version=1, versions_first=True):
    """A whole successful exchange on C; returns the session lifetime (None for v0)."""
    if versions_first:
        err, keys = api_versions(c)
        if err != NONE:
            raise Fail("ApiVersions before authentication: error %d" % err)
    err, mechs = handshake(c, mechanism, hs_version)
    if err != NONE:
        raise Fail("SaslHandshake v%d %s: error %d %r" % (hs_version, mechanism, err, mechs))
    if mechanism == "PLAIN":
        steps = [plain_token(user, password)]
        scram = None
    else:
        scram = Scram(mechanism, user, password)
        steps = [scram.first()]
    lifetime = None
    for i in range(2 if scram else 1):
        token = steps[i]
        err, msg, data, lifetime = authenticate(c, token, auth_version)
        if err != NONE:
            raise Fail("SaslAuthenticate v%d %s %s step %d: error %d %r" % (auth_version, mechanism, user, i + 1, err, msg))
        # Apache's success carries an empty error_message, not a null one
        expect("SaslAuthenticate v%d %s step %d: error_message" % (auth_version, mechanism, i + 1), msg, "")
        if scram and i == 0:
            steps.append(scram.final(data))
        elif scram:
            scram.check_final(data)
        elif data != b"":
            raise Fail("PLAIN: SaslAuthenticate returned auth bytes %r, expected none" % data)
    return lifetime


# --- checks --------------------------------------------------------------------------------

class Checks:
    def __init__(self):
        self.failed = []
        self.passed = 0

    def run(self, name, fn):
        try:
            detail = fn()
        except (Fail, Closed, OSError) as e:
            self.failed.append("%s: %s" % (name, e))
            print("FAIL %s: %s" % (name, e), file=sys.stderr)
            return
        self.passed += 1
        print("ok   %s%s" % (name, ": " + detail if detail else ""), file=sys.stderr)

    def finish(self, what):
        if self.failed:
            print("%d of %d %s checks differ from Apache 3.9: %s" % (
                len(self.failed), len(self.failed) + self.passed, what, "; ".join(self.failed)))
            sys.exit(1)
        print("%d %s checks as Apache 3.9" % (self.passed, what))


def expect(what, got, want):
    if got != want:
        raise Fail("%s: got %r, expected %r" % (what, got, want))


def cmd_wait_auth(sasl, mechanism, user, password, seconds=30):
    deadline = time.time() + float(seconds)
    last = None
    while time.time() < deadline:
        c = Conn(sasl)
        try:
            login(c, mechanism, user, password)
            brokers = metadata(c)
            print("%s %s authenticated, Metadata lists %d broker(s)" % (mechanism, user, len(brokers)))
            return 0
        except (Fail, Closed, OSError) as e:
            last = e
        finally:
            c.close()
        time.sleep(0.5)
    print("%s %s could not authenticate within %ss: %s" % (mechanism, user, seconds, last))
    return 1


def negative(sasl, plaintext):
    """The checks of the `negative` suite client, in order."""
    ck = Checks()

    def good_login(mechanism):
        def check():
            c = Conn(sasl)
            try:
                user, password = USERS[mechanism]
                lifetime = login(c, mechanism, user, password)
                # connections.max.reauth.ms is not set: no session lifetime
                expect("session_lifetime_ms without connections.max.reauth.ms", lifetime, 0)
                brokers = metadata(c)
                return "handshake v1 + authenticate v1 as %s, session_lifetime_ms 0, Metadata answered (%d broker)" % (user, len(brokers))
            finally:
                c.close()
        return check

    # 1. The handshake lists the enabled mechanisms in Apache's order.
    def mechanisms_listed():
        c = Conn(sasl)
        try:
            err, keys = api_versions(c)
            expect("ApiVersions error before authentication", err, NONE)
            for key in (API_SASL_HANDSHAKE, API_SASL_AUTHENTICATE):
                if key not in keys:
                    raise Fail("ApiVersions does not list API %d" % key)
            err, mechs = handshake(c, "PLAIN")
            expect("SaslHandshake PLAIN error", err, NONE)
            expect("SaslHandshake mechanisms", mechs, APACHE_MECHANISMS)
            return "ApiVersions answered before authentication (SaslHandshake %d..%d, SaslAuthenticate %d..%d), mechanisms %s" % (
                keys[API_SASL_HANDSHAKE] + keys[API_SASL_AUTHENTICATE] + (",".join(mechs),))
        finally:
            c.close()
    ck.run("handshake lists the mechanisms", mechanisms_listed)

    # 2. A wrong password, each mechanism: error 58 with Apache's message, then closed.
    def wrong_password(mechanism, user, password, unknown=False):
        def check():
            c = Conn(sasl)
            try:
                err, _ = handshake(c, mechanism)
                expect("SaslHandshake error", err, NONE)
                if mechanism == "PLAIN":
                    err, msg, _, _ = authenticate(c, plain_token(user, password))
                    want = MSG_PLAIN_BAD
                else:
                    scram = Scram(mechanism, user, password)
                    err, msg, data, _ = authenticate(c, scram.first())
                    want = MSG_SCRAM_BAD % mechanism
                    if not unknown:
                        # a known user gets its salt and iterations; the proof is refused
                        expect("client-first of a known user: (error, message)", (err, msg), (NONE, ""))
                        err, msg, _, _ = authenticate(c, scram.final(data))
                expect("SaslAuthenticate (error, message)", (err, msg), (SASL_AUTHENTICATION_FAILED, want))
                c.closed_within(5)
                return "error %d %r, then closed" % (err, msg)
            finally:
                c.close()
        return check
    ck.run("PLAIN wrong password", wrong_password("PLAIN", "alice", "not-alice-secret"))
    ck.run("PLAIN unknown user", wrong_password("PLAIN", "mallory", "mallory-secret"))
    ck.run("SCRAM-SHA-256 wrong password", wrong_password("SCRAM-SHA-256", "alice256", "not-alice256-secret"))
    ck.run("SCRAM-SHA-512 wrong password", wrong_password("SCRAM-SHA-512", "bob512", "not-bob512-secret"))
    ck.run("SCRAM-SHA-256 unknown user", wrong_password("SCRAM-SHA-256", "mallory", "x", unknown=True))
    ck.run("SCRAM-SHA-512 unknown user", wrong_password("SCRAM-SHA-512", "mallory", "x", unknown=True))
    # a SCRAM user of the other hash has no credential for this one
    ck.run("SCRAM-SHA-512 user of SCRAM-SHA-256 only", wrong_password("SCRAM-SHA-512", "alice256", "alice256-secret", unknown=True))

    # 3. An unsupported mechanism: error 33 and the enabled list, then closed.
    def unsupported(mechanism):
        def check():
            c = Conn(sasl)
            try:
                err, mechs = handshake(c, mechanism)
                expect("SaslHandshake %s (error, mechanisms)" % mechanism, (err, mechs), (UNSUPPORTED_SASL_MECHANISM, APACHE_MECHANISMS))
                c.closed_within(5)
                return "error 33, mechanisms %s, then closed" % ",".join(mechs)
            finally:
                c.close()
        return check
    ck.run("unsupported mechanism GSSAPI", unsupported("GSSAPI"))
    ck.run("unsupported mechanism OAUTHBEARER", unsupported("OAUTHBEARER"))
    ck.run("unsupported mechanism scram-sha-256 (case matters)", unsupported("scram-sha-256"))

    # 4. Requests other than ApiVersions/SaslHandshake before authentication.
    def metadata_first():
        c = Conn(sasl)
        try:
            c.send(API_METADATA, 1, struct.pack(">i", 0))
            c.closed_within(5)
            return "Metadata as the first request: closed without an answer"
        finally:
            c.close()
    ck.run("Metadata before authentication", metadata_first)

    def plain_client():
        # what a client without SASL does: ApiVersions (answered), then Metadata
        c = Conn(sasl)
        try:
            err, _ = api_versions(c)
            expect("ApiVersions error", err, NONE)
            c.send(API_METADATA, 1, struct.pack(">i", 0))
            c.closed_within(5)
            return "ApiVersions answered, then Metadata: closed without an answer"
        finally:
            c.close()
    ck.run("plain client on the SASL listener", plain_client)

    def metadata_after_handshake():
        # v1 handshake: the next request must be SaslAuthenticate. Apache answers the
        # Metadata request with its error response (no brokers, no topics) and closes.
        c = Conn(sasl)
        try:
            err, _ = handshake(c, "PLAIN")
            expect("SaslHandshake error", err, NONE)
            r = c.call(API_METADATA, 1, struct.pack(">i", 0))
            nb = r.i32()
            expect("brokers in the error response", nb, 0)
            controller = r.i32()
            nt = r.i32()
            expect("(controller_id, topics) in the error response", (controller, nt), (-1, 0))
            c.closed_within(5)
            return "answered with an empty Metadata response (no brokers, controller -1), then closed"
        finally:
            c.close()
    ck.run("Metadata between SaslHandshake and SaslAuthenticate", metadata_after_handshake)

    # 5. The legacy exchange (SaslHandshake v0, then size-prefixed tokens, no Kafka
    # header): a good PLAIN token gets an empty token back, a wrong one a close.
    def legacy(ok):
        def check():
            c = Conn(sasl)
            try:
                err, _ = handshake(c, "PLAIN", 0)
                expect("SaslHandshake v0 error", err, NONE)
                c.send_raw(plain_token("alice", "alice-secret" if ok else "wrong"))
                if ok:
                    frame = c.recv_frame()
                    expect("the server's PLAIN token", frame, b"")
                    brokers = metadata(c)
                    return "empty token back, then Metadata answered (%d broker)" % len(brokers)
                c.closed_within(5)
                return "closed without an answer"
            finally:
                c.close()
        return check
    ck.run("legacy v0 PLAIN good password", legacy(True))
    ck.run("legacy v0 PLAIN wrong password", legacy(False))

    def legacy_scram():
        c = Conn(sasl)
        try:
            err, _ = handshake(c, "SCRAM-SHA-512", 0)
            expect("SaslHandshake v0 error", err, NONE)
            scram = Scram("SCRAM-SHA-512", "bob512", "bob512-secret")
            c.send_raw(scram.first())
            c.send_raw(scram.final(c.recv_frame()))
            scram.check_final(c.recv_frame())
            brokers = metadata(c)
            return "unframed SCRAM-SHA-512 exchange, then Metadata answered (%d broker)" % len(brokers)
        finally:
            c.close()
    ck.run("legacy v0 SCRAM-SHA-512", legacy_scram)

    # 6. Good logins, every mechanism, SaslAuthenticate v0, v1 and a handshake without
    # ApiVersions first (librdkafka and old clients).
    for mechanism in ("PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"):
        ck.run("%s good password" % mechanism, good_login(mechanism))

    def auth_v0():
        c = Conn(sasl)
        try:
            user, password = USERS["SCRAM-SHA-256"]
            login(c, "SCRAM-SHA-256", user, password, auth_version=0, versions_first=False)
            brokers = metadata(c)
            return "SaslHandshake first, SaslAuthenticate v0, Metadata answered (%d broker)" % len(brokers)
        finally:
            c.close()
    ck.run("SCRAM-SHA-256 with SaslAuthenticate v0", auth_v0)

    # 7. SASL requests on an authenticated connection (no re-authentication configured):
    # KafkaApis answers both with error 34 and keeps the connection.
    def after_auth():
        c = Conn(sasl)
        try:
            login(c, "PLAIN", "admin", "admin-secret")
            err, mechs = handshake(c, "PLAIN")
            expect("SaslHandshake after authentication (error, mechanisms)", (err, mechs), (ILLEGAL_SASL_STATE, []))
            err, msg, data, lifetime = authenticate(c, plain_token("admin", "admin-secret"))
            expect("SaslAuthenticate after authentication (error, message, bytes, lifetime)",
                   (err, msg, data, lifetime), (ILLEGAL_SASL_STATE, MSG_AUTH_AFTER_AUTH, b"", 0))
            brokers = metadata(c)
            return "SaslHandshake: error 34; SaslAuthenticate: error 34 %r; connection kept (Metadata answered, %d broker)" % (msg, len(brokers))
        finally:
            c.close()
    ck.run("SASL requests after authentication", after_auth)

    def on_plaintext():
        c = Conn(plaintext)
        try:
            err, mechs = handshake(c, "PLAIN")
            expect("SaslHandshake on the PLAINTEXT listener (error, mechanisms)", (err, mechs), (ILLEGAL_SASL_STATE, []))
            brokers = metadata(c)
            return "error 34, connection kept (Metadata answered, %d broker)" % len(brokers)
        finally:
            c.close()
    ck.run("SaslHandshake on the PLAINTEXT listener", on_plaintext)

    # 8. The broker is unaffected: a good login still works after all that.
    ck.run("good login afterwards", good_login("SCRAM-SHA-512"))
    ck.finish("negative")


def reauth(sasl, lifetime_ms):
    """KIP-368 against connections.max.reauth.ms=LIFETIME_MS, on one timeline:
    A: SCRAM-SHA-256, SaslAuthenticate v1: session_lifetime_ms in (0, LIFETIME]; Metadata
       answered; re-authenticates on the same connection (SaslHandshake + SaslAuthenticate
       again) after 2.5s, getting a new lifetime; a Metadata request after the first
       session's end is answered (the re-authentication extended it); one after the new
       session's end closes the connection without an answer.
    B: PLAIN, SaslAuthenticate v0 (a client that cannot re-authenticate): a Metadata
       request after the lifetime closes the connection without an answer.
    C: SCRAM-SHA-512 v1, no re-authentication in time: after the session ended, a
       SaslHandshake still starts a re-authentication (SocketServer checks for it
       before the expiry), which succeeds, and Metadata is answered again.
    D: PLAIN admin, re-authenticating as alice: error 58 (principal change), closed.
    """
    life = int(lifetime_ms)
    ck = Checks()
    conns = {}
    t0 = time.time()

    def at(seconds):
        delay = t0 + seconds - time.time()
        if delay > 0:
            time.sleep(delay)

    state = {}

    def start_a():
        c = conns["A"] = Conn(sasl)
        user, password = USERS["SCRAM-SHA-256"]
        got = login(c, "SCRAM-SHA-256", user, password)
        state["a_life"] = got
        if not got or got <= 0 or got > life:
            raise Fail("session_lifetime_ms %r, expected 0 < x <= %d" % (got, life))
        metadata(c)
        return "session_lifetime_ms %d" % got
    ck.run("A: SaslAuthenticate v1 session lifetime", start_a)

    def start_b():
        c = conns["B"] = Conn(sasl)
        login(c, "PLAIN", "alice", "alice-secret", auth_version=0)
        metadata(c)
        return "authenticated with SaslAuthenticate v0, Metadata answered"
    ck.run("B: SaslAuthenticate v0", start_b)

    def start_c():
        c = conns["C"] = Conn(sasl)
        user, password = USERS["SCRAM-SHA-512"]
        got = login(c, "SCRAM-SHA-512", user, password)
        if not got or got <= 0 or got > life:
            raise Fail("session_lifetime_ms %r, expected 0 < x <= %d" % (got, life))
        return "session_lifetime_ms %d" % got
    ck.run("C: SaslAuthenticate v1", start_c)

    def start_d():
        c = conns["D"] = Conn(sasl)
        login(c, "PLAIN", "admin", "admin-secret")
        return "authenticated as admin"
    ck.run("D: PLAIN admin", start_d)

    at(2.5)

    def reauth_a():
        c = conns["A"]
        user, password = USERS["SCRAM-SHA-256"]
        state["a_reauth_at"] = time.time()
        got = login(c, "SCRAM-SHA-256", user, password, versions_first=False)
        if not got or got <= 0 or got > life:
            raise Fail("re-authentication session_lifetime_ms %r, expected 0 < x <= %d" % (got, life))
        state["a_life2"] = got
        metadata(c)
        return "re-authenticated on the same connection, new session_lifetime_ms %d" % got
    if "A" in conns:
        ck.run("A: re-authentication", reauth_a)

    def reauth_d():
        c = conns["D"]
        err, _ = handshake(c, "PLAIN")
        expect("SaslHandshake error", err, NONE)
        err, msg, _, _ = authenticate(c, plain_token("alice", "alice-secret"))
        expect("SaslAuthenticate (error, message)", (err, msg),
               (SASL_AUTHENTICATION_FAILED, MSG_PRINCIPAL_CHANGE % ("admin", "alice")))
        c.closed_within(5)
        return "error 58 %r, then closed" % msg
    if "D" in conns:
        ck.run("D: re-authentication as another user", reauth_d)

    at(life / 1000.0 + 1.0)

    def a_still_served():
        metadata(conns["A"])
        return "Metadata answered %.1fs after the first authentication (lifetime %.1fs)" % (
            time.time() - t0, state["a_life"] / 1000.0)
    if "a_life2" in state:
        ck.run("A: served after the first session's end", a_still_served)

    def b_closed():
        c = conns["B"]
        c.send(API_METADATA, 1, struct.pack(">i", 0))
        c.closed_within(5)
        return "Metadata %.1fs after authentication: closed without an answer" % (time.time() - t0)
    if "B" in conns:
        ck.run("B: expired session, Metadata", b_closed)

    def c_late_reauth():
        c = conns["C"]
        user, password = USERS["SCRAM-SHA-512"]
        got = login(c, "SCRAM-SHA-512", user, password, versions_first=False)
        metadata(c)
        return "re-authenticated %.1fs after authentication (session_lifetime_ms %d), Metadata answered" % (
            time.time() - t0, got)
    if "C" in conns:
        ck.run("C: re-authentication after the session ended", c_late_reauth)

    if "a_life2" in state:
        at(state["a_reauth_at"] - t0 + state["a_life2"] / 1000.0 + 1.0)

        def a_closed():
            c = conns["A"]
            c.send(API_METADATA, 1, struct.pack(">i", 0))
            c.closed_within(5)
            return "Metadata after the re-authenticated session's end: closed without an answer"
        ck.run("A: expired session, Metadata", a_closed)

    for c in conns.values():
        c.close()
    ck.finish("re-authentication")


def main():
    if len(sys.argv) < 3:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    cmd = sys.argv[1]
    if cmd == "wait-auth":
        sys.exit(cmd_wait_auth(addr(sys.argv[2]), *sys.argv[3:]))
    elif cmd == "negative":
        negative(addr(sys.argv[2]), addr(sys.argv[3]))
    elif cmd == "reauth":
        reauth(addr(sys.argv[2]), sys.argv[3])
    else:
        print(__doc__, file=sys.stderr)
        sys.exit(2)


if __name__ == "__main__":
    main()
