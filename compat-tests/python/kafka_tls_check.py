"""kafka_tls_check: a broker's SSL and SASL_SSL listeners on raw sockets and Python's ssl module.

    kafka_tls_check.py wait-auth SASL_SSL_ADDR CA_FILE MECHANISM USER PASSWORD [SECONDS]
    kafka_tls_check.py negative  SSL_ADDR SASL_SSL_ADDR PLAINTEXT_ADDR CERT_DIR

CERT_DIR holds the suite's files (suites/kafka-tls.sh): ca.pem, broker.pem, client.pem
and client-plain.key (a certificate of the CA, CN=alice-client), rogue-ca.pem and
rogue-client.pem / rogue-client.key (a second CA and a client certificate of it).
The SASL users are the suite's: PLAIN alice/alice-secret (the listener's JAAS line),
SCRAM bob/bob-secret (SCRAM-SHA-256 and SCRAM-SHA-512).

No Kafka client sits between this program and the bytes, so it sees when a broker
fails a handshake, which alert arrives, and when it closes a connection. Apache Kafka
3.9.1 (ZooKeeper mode, JSSE of Java 17, ssl.enabled.protocols TLSv1.2,TLSv1.3) was run
to write down what it does (the docstrings of the checks below say it per check). The
checks assert only what any correct TLS server in Kafka's place must also do: fail the
handshake (or, in TLS 1.3, end the connection right after the client's Finished)
without ever answering a Kafka request, keep serving good clients, and return Kafka's
own SASL errors over TLS. Alert numbers are JSSE's choice (a server written with rustls
or OpenSSL may send another, or none): they are printed, never asserted.

wait-auth: TLS, then ApiVersions v0, SaslHandshake v1, SaslAuthenticate v1 until it
  succeeds and a Metadata request is answered (SCRAM users are created while the broker
  runs: it learns them from ZooKeeper asynchronously), at most SECONDS.
negative: every check prints a line to stderr; any difference fails (exit 1) and is
  named in the summary line.
"""
import base64
import hashlib
import hmac
import os
import socket
import ssl
import struct
import sys
import time

API_METADATA, API_SASL_HANDSHAKE, API_API_VERSIONS, API_SASL_AUTHENTICATE = 3, 17, 18, 36
NONE, SASL_AUTHENTICATION_FAILED = 0, 58
# ScramSaslServer's failures reach the client as this text (SaslServerAuthenticator);
# PlainSaslServer's as its own message.
MSG_SCRAM_BAD = "Authentication failed during authentication due to invalid credentials with SASL mechanism %s"
MSG_PLAIN_BAD = "Authentication failed: Invalid username or password"

TLS12, TLS13 = ssl.TLSVersion.TLSv1_2, ssl.TLSVersion.TLSv1_3
VNAME = {TLS12: "TLSv1.2", TLS13: "TLSv1.3"}


class Closed(Exception):
    pass


class Fail(Exception):
    pass


def addr(text):
    host, port = text.rsplit(":", 1)
    return host, int(port)


# --- TLS ---------------------------------------------------------------------------------

def context(ca, cert=None, key=None, version=None):
    """A client context as a careful client builds it: the CA file, hostname checking
    (the broker certificate's IP:127.0.0.1), optionally a client certificate, optionally
    pinned to one TLS version."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.load_verify_locations(ca)
    ctx.check_hostname = True
    if cert:
        ctx.load_cert_chain(cert, key)
    if version:
        ctx.minimum_version = ctx.maximum_version = version
    return ctx


def describe_error(e):
    """A short, stable name for what ended a TLS exchange."""
    if isinstance(e, ssl.SSLCertVerificationError):
        return "certificate verify failed (%s)" % (e.verify_message or e.reason)
    if isinstance(e, ssl.SSLEOFError):
        return "EOF (connection closed without close_notify)"
    if isinstance(e, ssl.SSLZeroReturnError):
        return "close_notify"
    if isinstance(e, ssl.SSLError):
        return "alert/SSL error %s" % (e.reason or e)
    if isinstance(e, ConnectionResetError):
        return "connection reset"
    if isinstance(e, BrokenPipeError):
        return "broken pipe"
    if isinstance(e, socket.timeout):
        return "timeout"
    return "%s: %s" % (type(e).__name__, e)


class Conn:
    """A Kafka connection, plain or TLS (sock is a socket or an SSLSocket)."""

    def __init__(self, sock, timeout=10.0):
        self.sock = sock
        self.timeout = timeout
        self.corr = 0

    @classmethod
    def tls(cls, address, ctx, timeout=10.0):
        raw = socket.create_connection(address, timeout=timeout)
        s = ctx.wrap_socket(raw, server_hostname=address[0], do_handshake_on_connect=False)
        try:
            s.do_handshake()
        except BaseException:
            s.close()
            raise
        return cls(s, timeout)

    @classmethod
    def plain(cls, address, timeout=10.0):
        return cls(socket.create_connection(address, timeout=timeout), timeout)

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    def send(self, key, version, body):
        self.corr += 1
        cid = b"kafka-tls-check"
        payload = struct.pack(">hhih", key, version, self.corr, len(cid)) + cid + body
        self.sock.sendall(struct.pack(">i", len(payload)) + payload)
        return self.corr

    def _recv(self, n):
        out = b""
        while len(out) < n:
            chunk = self.sock.recv(n - len(out))
            if not chunk:
                raise Closed("connection closed after %d of %d bytes" % (len(out), n))
            out += chunk
        return out

    def call(self, key, version, body):
        corr = self.send(key, version, body)
        self.sock.settimeout(self.timeout)
        try:
            n = struct.unpack(">i", self._recv(4))[0]
            frame = self._recv(n)
        except socket.timeout:
            raise Fail("no answer within %.0fs" % self.timeout)
        got = struct.unpack(">i", frame[:4])[0]
        if got != corr:
            raise Fail("correlation id %d in the response, expected %d" % (got, corr))
        return Reader(frame[4:])


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


def s16(text):
    raw = text.encode()
    return struct.pack(">h", len(raw)) + raw


def b32(raw):
    return struct.pack(">i", len(raw)) + raw


def api_versions(c):
    r = c.call(API_API_VERSIONS, 0, b"")
    err, n = r.i16(), r.i32()
    keys = {}
    for _ in range(n):
        k, lo, hi = r.i16(), r.i16(), r.i16()
        keys[k] = (lo, hi)
    return err, keys


def metadata(c):
    """Metadata v1 for no topics: the brokers as [(node_id, host, port)]."""
    r = c.call(API_METADATA, 1, struct.pack(">i", 0))
    brokers = []
    for _ in range(r.i32()):
        node, host, port = r.i32(), r.string(), r.i32()
        r.string()  # rack
        brokers.append((node, host, port))
    return brokers


def handshake(c, mechanism):
    r = c.call(API_SASL_HANDSHAKE, 1, s16(mechanism))
    err, n = r.i16(), r.i32()
    return err, [r.string() for _ in range(max(n, 0))]


def authenticate(c, token):
    r = c.call(API_SASL_AUTHENTICATE, 1, b32(token))
    return r.i16(), r.string(), r.bytes32(), r.i64()


class Scram:
    """The client side of RFC 5802 (no channel binding: gs2 header "n,,")."""

    def __init__(self, mechanism, user, password):
        self.hash = {"SCRAM-SHA-256": "sha256", "SCRAM-SHA-512": "sha512"}[mechanism]
        self.password = password
        self.nonce = base64.b64encode(os.urandom(18)).decode()
        self.first_bare = "n=%s,r=%s" % (user, self.nonce)
        self.server_signature = None

    def first(self):
        return ("n,," + self.first_bare).encode()

    def final(self, server_first):
        text = server_first.decode()
        attrs = dict(part.split("=", 1) for part in text.split(","))
        if not attrs["r"].startswith(self.nonce):
            raise Fail("server nonce %r does not extend ours" % attrs["r"])
        salted = hashlib.pbkdf2_hmac(self.hash, self.password.encode(), base64.b64decode(attrs["s"]), int(attrs["i"]))
        client_key = hmac.new(salted, b"Client Key", self.hash).digest()
        stored_key = hashlib.new(self.hash, client_key).digest()
        without_proof = "c=biws,r=" + attrs["r"]
        auth_message = ",".join([self.first_bare, text, without_proof]).encode()
        proof = bytes(a ^ b for a, b in zip(client_key, hmac.new(stored_key, auth_message, self.hash).digest()))
        server_key = hmac.new(salted, b"Server Key", self.hash).digest()
        self.server_signature = hmac.new(server_key, auth_message, self.hash).digest()
        return (without_proof + ",p=" + base64.b64encode(proof).decode()).encode()

    def check_final(self, server_final):
        if server_final.decode() != "v=" + base64.b64encode(self.server_signature).decode():
            raise Fail("server-final-message %r does not carry the server signature" % server_final)


def login(c, mechanism, user, password):
    err, keys = api_versions(c)
    if err != NONE:
        raise Fail("ApiVersions before authentication: error %d" % err)
    err, mechs = handshake(c, mechanism)
    if err != NONE:
        raise Fail("SaslHandshake %s: error %d %r" % (mechanism, err, mechs))
    if mechanism == "PLAIN":
        err, msg, _, _ = authenticate(c, b"\0" + user.encode() + b"\0" + password.encode())
        if err != NONE:
            raise Fail("SaslAuthenticate PLAIN %s: error %d %r" % (user, err, msg))
        return
    scram = Scram(mechanism, user, password)
    err, msg, data, _ = authenticate(c, scram.first())
    if err != NONE:
        raise Fail("SaslAuthenticate %s %s client-first: error %d %r" % (mechanism, user, err, msg))
    err, msg, data, _ = authenticate(c, scram.final(data))
    if err != NONE:
        raise Fail("SaslAuthenticate %s %s client-final: error %d %r" % (mechanism, user, err, msg))
    scram.check_final(data)


def ended_without_answer(c, seconds=10.0):
    """After a request that must not be answered: the connection must end (EOF, reset,
    or a TLS alert) within SECONDS without a Kafka response. Returns what ended it."""
    c.sock.settimeout(seconds)
    got = b""
    t0 = time.time()
    try:
        while True:
            chunk = c.sock.recv(65536)
            if not chunk:
                break
            got += chunk
            if len(got) >= 8 and struct.unpack(">i", got[4:8])[0] == c.corr:
                raise Fail("the broker answered the request (%d bytes)" % len(got))
    except socket.timeout:
        raise Fail("connection still open after %.0fs, %d bytes received" % (seconds, len(got)))
    except (ssl.SSLError, ConnectionResetError, BrokenPipeError) as e:
        return describe_error(e) + (" after %d bytes" % len(got) if got else "") + " [%.2fs]" % (time.time() - t0)
    if got:
        return "closed after %d bytes %s [%.2fs]" % (len(got), got[:16].hex(" "), time.time() - t0)
    return "EOF [%.2fs]" % (time.time() - t0)


# --- checks --------------------------------------------------------------------------------

class Checks:
    def __init__(self):
        self.failed = []
        self.passed = 0

    def run(self, name, fn):
        try:
            detail = fn()
        except (Fail, Closed, OSError) as e:
            self.failed.append("%s: %s" % (name, e if not isinstance(e, OSError) else describe_error(e)))
            print("FAIL %s: %s" % (name, self.failed[-1].split(": ", 1)[1]), file=sys.stderr)
            return None
        self.passed += 1
        print("ok   %s%s" % (name, ": " + detail if detail else ""), file=sys.stderr)
        return detail

    def finish(self, notes):
        if self.failed:
            print("%d of %d TLS checks differ from Apache 3.9: %s" % (
                len(self.failed), len(self.failed) + self.passed, "; ".join(self.failed)))
            sys.exit(1)
        print("%d TLS checks as Apache 3.9 (%s)" % (self.passed, "; ".join(notes)))


def cmd_wait_auth(sasl_ssl, ca, mechanism, user, password, seconds=30):
    deadline = time.time() + float(seconds)
    last = None
    while time.time() < deadline:
        c = None
        try:
            c = Conn.tls(sasl_ssl, context(ca))
            login(c, mechanism, user, password)
            brokers = metadata(c)
            print("%s %s authenticated over TLS, Metadata lists %d broker(s)" % (mechanism, user, len(brokers)))
            return 0
        except (Fail, Closed, OSError) as e:
            last = e
        finally:
            if c:
                c.close()
        time.sleep(0.5)
    print("%s %s could not authenticate over TLS within %ss: %s" % (mechanism, user, seconds, last))
    return 1


def negative(ssl_addr, sasl_ssl_addr, plain_addr, certs):
    ck = Checks()
    f = lambda name: os.path.join(certs, name)  # noqa: E731
    ca, rogue_ca = f("ca.pem"), f("rogue-ca.pem")
    good_cert, good_key = f("client.pem"), f("client-plain.key")
    rogue_cert, rogue_key = f("rogue-client.pem"), f("rogue-client.key")
    with open(f("broker.pem")) as fh:
        broker_der = ssl.PEM_cert_to_DER_cert(fh.read())
    notes = []

    def serving():
        """A good client on each TLS listener after every refusal: mTLS ApiVersions +
        Metadata (the SSL listener's own endpoint listed), SASL_SSL SCRAM-SHA-512 login +
        Metadata (the SASL_SSL endpoint listed)."""
        c = Conn.tls(ssl_addr, context(ca, good_cert, good_key))
        try:
            err, _ = api_versions(c)
            if err != NONE:
                raise Fail("afterwards, mTLS ApiVersions error %d" % err)
            b = metadata(c)
            if (1, ssl_addr[0], ssl_addr[1]) not in b:
                raise Fail("afterwards, Metadata on the SSL listener lists %r, not 127.0.0.1:%d" % (b, ssl_addr[1]))
        finally:
            c.close()
        c = Conn.tls(sasl_ssl_addr, context(ca))
        try:
            login(c, "SCRAM-SHA-512", "bob", "bob-secret")
            b = metadata(c)
            if (1, sasl_ssl_addr[0], sasl_ssl_addr[1]) not in b:
                raise Fail("afterwards, Metadata on the SASL_SSL listener lists %r, not 127.0.0.1:%d" % (b, sasl_ssl_addr[1]))
        finally:
            c.close()

    def then_serving(fn):
        def check():
            detail = fn()
            serving()
            return detail + "; good mTLS and SASL_SSL clients served afterwards"
        return check

    # 1 -------------------------------------------------------------------------------------
    def good_clients():
        """Both listeners present the broker certificate (the SSL listener from the keytool
        PKCS12 keystore, the SASL_SSL one from the PEM file with the encrypted PKCS#8 key),
        verified against the CA with hostname 127.0.0.1 (IP SAN), with TLS 1.2 and with
        TLS 1.3; a client that does not pin a version gets TLS 1.3. Apache, to Python's
        default offer: TLSv1.2 ECDHE-RSA-AES256-GCM-SHA384 and TLSv1.3
        TLS_AES_256_GCM_SHA384 on both listeners (ciphers printed, not asserted). Metadata
        v1 on each listener lists exactly one broker, (1, 127.0.0.1, that listener's port):
        a client bootstrapping on a TLS listener is sent to the same listener."""
        seen = []
        for name, a, cert in (("SSL", ssl_addr, True), ("SASL_SSL", sasl_ssl_addr, False)):
            for v in (TLS12, TLS13, None):
                ctx = context(ca, good_cert if cert else None, good_key if cert else None, v)
                c = Conn.tls(a, ctx)
                try:
                    der = c.sock.getpeercert(binary_form=True)
                    if der != broker_der:
                        raise Fail("%s presents a certificate other than broker.pem: %s" % (name, ssl.DER_cert_to_PEM_cert(der)[:80]))
                    if v is None and c.sock.version() != "TLSv1.3":
                        raise Fail("%s: an unpinned client negotiated %s, expected TLSv1.3" % (name, c.sock.version()))
                    if cert:
                        err, _ = api_versions(c)
                        if err != NONE:
                            raise Fail("%s ApiVersions error %d" % (name, err))
                    else:
                        login(c, "SCRAM-SHA-512", "bob", "bob-secret")
                    b = metadata(c)
                    if b != [(1, a[0], a[1])]:
                        raise Fail("Metadata over %s lists %r, expected [(1, %r, %d)]" % (name, b, a[0], a[1]))
                    if v:
                        seen.append("%s %s %s" % (name, c.sock.version(), c.sock.cipher()[0]))
                finally:
                    c.close()
        notes.append(", ".join(seen))
        return ", ".join(seen) + "; the broker certificate on both, Metadata lists each listener's endpoint"
    ck.run("good clients, TLS 1.2 and 1.3", good_clients)

    # 2 -------------------------------------------------------------------------------------
    def plaintext_to_ssl():
        """An ApiVersions request in the clear to the SSL port. Apache: JSSE rejects the
        bytes as a TLS record ("Unsupported or unrecognized SSL message"), the broker
        writes the alert JSSE produced, 7 bytes 15 03 03 00 02 02 50 (a TLS 1.2 record
        holding a fatal internal_error(80) alert, in the clear), and closes the connection
        at once. Asserted: no Kafka response and the connection ends within 10s; the bytes
        before the close are printed (another TLS stack may send another alert, or none)."""
        c = Conn.plain(ssl_addr)
        try:
            c.send(API_API_VERSIONS, 0, b"")
            how = ended_without_answer(c)
        finally:
            c.close()
        notes.append("plaintext request to SSL port: " + how)
        return "no Kafka reply, connection ended: " + how
    ck.run("plaintext request to the SSL listener", then_serving(plaintext_to_ssl))

    def plaintext_to_sasl_ssl():
        """The same to the SASL_SSL port (SaslHandshake v1 in the clear). Apache: the same
        7-byte internal_error alert, then the close."""
        c = Conn.plain(sasl_ssl_addr)
        try:
            c.send(API_SASL_HANDSHAKE, 1, s16("PLAIN"))
            how = ended_without_answer(c)
        finally:
            c.close()
        return "no Kafka reply, connection ended: " + how
    ck.run("plaintext request to the SASL_SSL listener", then_serving(plaintext_to_sasl_ssl))

    def tls_to_plaintext():
        """A TLS ClientHello to the PLAINTEXT port. Apache reads its first four bytes
        (16 03 01 ..) as a request size of ~369 MB, over socket.request.max.bytes
        (100 MiB), and closes the connection without writing a byte: the client's handshake
        fails with an EOF. Asserted: the handshake fails within 10s (a server that waited
        for 369 MB would keep it open)."""
        raw = socket.create_connection(plain_addr, timeout=10)
        s = context(ca).wrap_socket(raw, server_hostname=plain_addr[0], do_handshake_on_connect=False)
        try:
            s.do_handshake()
        except (ssl.SSLError, OSError) as e:
            if isinstance(e, socket.timeout):
                raise Fail("no answer to a ClientHello within 10s, connection still open")
            return "handshake failed: " + describe_error(e)
        finally:
            s.close()
        raise Fail("a TLS handshake succeeded on the PLAINTEXT port")
    ck.run("TLS to the PLAINTEXT listener", then_serving(tls_to_plaintext))

    # 3 -------------------------------------------------------------------------------------
    def refused_client(what, cert, key):
        """ssl.client.auth=required refuses a client without a certificate and one whose
        certificate another CA signed, with each TLS version pinned.
        TLS 1.2: the handshake itself must fail (a server cannot send its Finished to a
        client it has not verified). Apache (JSSE) sends a fatal alert in reply to the
        client's second flight and closes: bad_certificate(42) for no certificate,
        certificate_unknown(46) for the rogue CA's.
        TLS 1.3: the client's handshake completes when it sends its Certificate and
        Finished, before the server has judged them, so the refusal can only arrive on the
        first read: Apache sends the same alerts (bad_certificate(42), not TLS 1.3's
        certificate_required(116), for no certificate; certificate_unknown(46) for the
        rogue CA's) and closes; the ApiVersions request sent is never answered.
        Asserted: TLS 1.2 handshake failure; TLS 1.3 handshake failure or an unanswered
        request on a connection that ends within 10s. Alert names are printed only."""
        def check():
            out = []
            for v in (TLS12, TLS13):
                ctx = context(ca, cert, key, v)
                try:
                    c = Conn.tls(ssl_addr, ctx)
                except (ssl.SSLError, OSError) as e:
                    if isinstance(e, socket.timeout):
                        raise Fail("%s: no answer to the handshake within 10s" % VNAME[v])
                    out.append("%s handshake failed: %s" % (VNAME[v], describe_error(e)))
                    continue
                if v == TLS12:
                    c.close()
                    raise Fail("TLSv1.2: the handshake succeeded %s" % what)
                try:
                    try:
                        c.send(API_API_VERSIONS, 0, b"")
                    except (ssl.SSLError, OSError) as e:
                        out.append("%s handshake completed client-side, then the send failed: %s" % (VNAME[v], describe_error(e)))
                        continue
                    out.append("%s handshake completed client-side, request unanswered: %s" % (VNAME[v], ended_without_answer(c)))
                finally:
                    c.close()
            notes.append("%s: %s" % (what, "; ".join(out)))
            return "; ".join(out)
        return check
    ck.run("mTLS listener, no client certificate", then_serving(refused_client("without a client certificate", None, None)))
    ck.run("mTLS listener, client certificate of another CA",
           then_serving(refused_client("with a client certificate of the rogue CA", rogue_cert, rogue_key)))

    # 4 -------------------------------------------------------------------------------------
    def untrusted_broker():
        """A client whose CA file is the rogue CA: the broker's certificate does not verify,
        on both listeners, and the client aborts the handshake (OpenSSL sends unknown_ca).
        Client-side behaviour: it proves that the broker presents nothing a wrong CA would
        accept, and that it survives the abort. OpenSSL's reason tells what the broker
        sent: Apache, "self-signed certificate in certificate chain": both keystores send
        the chain broker certificate + CA (a server sending its leaf alone gets "unable to
        get local issuer certificate"; printed, not asserted)."""
        out = []
        for name, a in (("SSL", ssl_addr), ("SASL_SSL", sasl_ssl_addr)):
            try:
                c = Conn.tls(a, context(rogue_ca, good_cert, good_key))
            except ssl.SSLCertVerificationError as e:
                out.append("%s: %s" % (name, describe_error(e)))
                continue
            c.close()
            raise Fail("%s: a client trusting only the rogue CA verified the broker" % name)
        return "; ".join(out)
    ck.run("client not trusting the broker's CA", then_serving(untrusted_broker))

    # 5 -------------------------------------------------------------------------------------
    def sasl_ssl_wrong(mechanism, user, password):
        def check():
            """SASL over TLS, as on SASL_PLAINTEXT: a wrong password gets SaslAuthenticate v1
            error 58 (SASL_AUTHENTICATION_FAILED) with Kafka's message (SCRAM: after a
            normal server-first message; PLAIN: "Authentication failed: Invalid username or
            password"), then the broker closes the connection."""
            c = Conn.tls(sasl_ssl_addr, context(ca))
            try:
                err, _ = handshake(c, mechanism)
                if err != NONE:
                    raise Fail("SaslHandshake %s: error %d" % (mechanism, err))
                if mechanism == "PLAIN":
                    err, msg, _, _ = authenticate(c, b"\0" + user.encode() + b"\0" + password.encode())
                    want = MSG_PLAIN_BAD
                else:
                    scram = Scram(mechanism, user, password)
                    err, msg, data, _ = authenticate(c, scram.first())
                    if (err, msg) != (NONE, ""):
                        raise Fail("client-first of a known user: error %d %r" % (err, msg))
                    err, msg, _, _ = authenticate(c, scram.final(data))
                    want = MSG_SCRAM_BAD % mechanism
                if (err, msg) != (SASL_AUTHENTICATION_FAILED, want):
                    raise Fail("SaslAuthenticate: got (%d, %r), expected (58, %r)" % (err, msg, want))
                how = ended_without_answer(c, 5)
                return "error 58 %r, then the connection ended (%s)" % (msg, how)
            finally:
                c.close()
        return check
    ck.run("SASL_SSL SCRAM-SHA-512 wrong password", then_serving(sasl_ssl_wrong("SCRAM-SHA-512", "bob", "not-bob-secret")))
    ck.run("SASL_SSL PLAIN wrong password", then_serving(sasl_ssl_wrong("PLAIN", "alice", "not-alice-secret")))

    def sasl_ssl_no_sasl():
        """TLS is not authentication on a SASL_SSL listener: Metadata right after the
        TLS handshake (a client configured for SSL instead of SASL_SSL) gets no answer
        and the connection is closed, as on SASL_PLAINTEXT."""
        c = Conn.tls(sasl_ssl_addr, context(ca))
        try:
            c.send(API_METADATA, 1, struct.pack(">i", 0))
            return "Metadata before SASL unanswered, connection ended: " + ended_without_answer(c)
        finally:
            c.close()
    ck.run("SASL_SSL without SASL", then_serving(sasl_ssl_no_sasl))

    ck.finish(notes)


def main():
    args = sys.argv[1:]
    if not args:
        print(__doc__)
        return 2
    if args[0] == "wait-auth":
        return cmd_wait_auth(addr(args[1]), args[2], args[3], args[4], args[5], *(args[6:7]))
    if args[0] == "negative":
        negative(addr(args[1]), addr(args[2]), addr(args[3]), args[4])
        return 0
    print(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main())
