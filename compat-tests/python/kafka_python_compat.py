"""kafka_python_compat: the kafka-python internals the security helpers look at, for both
of its lines.

kafka-python 3.x replaced kafka.client_async.KafkaClient (one BrokerConnection per node,
`client._conns`, `conn._sock`, `conn._sasl_handshake_version()`) with
kafka.net.compat.KafkaNetClient over a KafkaConnectionManager (`client._manager._conns`,
KafkaConnection with `transport._sock` and `broker_version_data`), and its admin client's
describe_topics() now returns the MetadataResponse's own field names (`name`,
`leader_id`) instead of 2.x's (`topic`, `leader`). The helpers branch here, on the
installed kafka-python's major version, and nowhere else.
"""
import kafka

KP_VERSION = tuple(int(p) for p in kafka.__version__.split(".")[:2] if p.isdigit())
KP3 = KP_VERSION >= (3,)


def client_class():
    """The class KafkaProducer/KafkaConsumer take as their kafka_client option."""
    if KP3:
        from kafka.net.compat import KafkaNetClient
        return KafkaNetClient
    from kafka.client_async import KafkaClient
    return KafkaClient


def connected(client):
    """The client's connections that completed their set-up (ApiVersions, SASL)."""
    if KP3:
        return [c for c in list(client._manager._conns.values()) if c.connected]
    return [c for c in list(client._conns.values()) if c.connected() and c._api_versions is not None]


def sasl_handshake_version(conn):
    """The SaslHandshake version the connection authenticated with: 2.x computes it from
    the broker's (or the pinned api_version's) table; 3.x sends SaslHandshakeRequest with
    max_version=1 and the connection picks the version from its broker_version_data the
    same way (KafkaConnection._send_request)."""
    if KP3:
        from kafka.protocol.sasl import SaslHandshakeRequest
        return conn.broker_version_data.api_version(SaslHandshakeRequest, max_version=1)
    return conn._sasl_handshake_version()


def ssl_socket(conn):
    """The connection's socket (an SSLSocket on a TLS connection), or None."""
    if KP3:
        transport = getattr(conn, "transport", None)
        return getattr(transport, "_sock", None)
    return getattr(conn, "_sock", None)


def topic_desc(t):
    """One describe_topics() entry as (name, error_code, [leader per partition])."""
    name = t["topic"] if "topic" in t else t["name"]
    leaders = [p["leader"] if "leader" in p else p["leader_id"] for p in t["partitions"]]
    return name, t["error_code"], leaders


def record_sasl_requests():
    """kafka-python 3.x only: records, per SASL request a connection sends, (request class
    name, response or exception), in a list it returns. 3.x no longer logs the broker's
    SaslAuthenticate error as 2.x did ("SaslAuthenticate error ..."); and when the error
    response arrives together with the broker's close (Apache sends error 58, then
    closes), its transport reads the data and the end of stream in one go and drops the
    response (KafkaTCPTransport._sock_recv: socket disconnected, data discarded), so what
    the client sees of a refused login is its SaslAuthenticate request failing with
    KafkaConnectionError, or answered with error 58 when the close comes later."""
    from kafka.net.connection import KafkaConnection
    seen = []
    orig = KafkaConnection._send_request

    def send(self, request, *args, **kwargs):
        future = orig(self, request, *args, **kwargs)
        name = type(request).__name__
        if name.startswith("Sasl"):
            future.add_both(lambda outcome: seen.append((name, outcome)))
        return future

    KafkaConnection._send_request = send
    return seen
