"""api_versions_diff: keel's ApiVersions answer against Apache Kafka 3.9's.

    api_versions_diff.py REFERENCE_BOOTSTRAP TARGET_BOOTSTRAP

Sends ApiVersions v3 to both (raw sockets: nothing between us and the bytes) and
compares the announced ranges API by API, against the reference (an Apache 3.9.1
broker in ZooKeeper mode, the last release whose clients keel must all serve):

- an API the reference announces and the target does not is a failure, unless it is
  in NOT_SERVED (named gaps: features keel does not have yet);
- a target minimum above the reference's is a failure, unless the API is in
  MIN_VERSION_GAPS with exactly that minimum (KIP-896 baselines keel still has);
- a target maximum below the reference's is a failure (a client of 3.9 would be
  refused a version 3.9 serves);
- extra APIs and higher maximums on the target are listed, not failures (4.x
  clients use them).

A gap that closes (keel starts serving an API, or lowers a minimum) fails too, so
the lists below stay true. Prints one summary line; exits 1 with the reasons on
stderr.
"""
import socket
import struct
import sys

# API key -> name, for the messages.
NAMES = {
    0: "Produce", 1: "Fetch", 2: "ListOffsets", 3: "Metadata", 4: "LeaderAndIsr",
    5: "StopReplica", 6: "UpdateMetadata", 7: "ControlledShutdown", 8: "OffsetCommit",
    9: "OffsetFetch", 10: "FindCoordinator", 11: "JoinGroup", 12: "Heartbeat",
    13: "LeaveGroup", 14: "SyncGroup", 15: "DescribeGroups", 16: "ListGroups",
    17: "SaslHandshake", 18: "ApiVersions", 19: "CreateTopics", 20: "DeleteTopics",
    21: "DeleteRecords", 22: "InitProducerId", 23: "OffsetForLeaderEpoch",
    24: "AddPartitionsToTxn", 25: "AddOffsetsToTxn", 26: "EndTxn", 27: "WriteTxnMarkers",
    28: "TxnOffsetCommit", 29: "DescribeAcls", 30: "CreateAcls", 31: "DeleteAcls",
    32: "DescribeConfigs", 33: "AlterConfigs", 34: "AlterReplicaLogDirs",
    35: "DescribeLogDirs", 36: "SaslAuthenticate", 37: "CreatePartitions",
    38: "CreateDelegationToken", 39: "RenewDelegationToken", 40: "ExpireDelegationToken",
    41: "DescribeDelegationToken", 42: "DeleteGroups", 43: "ElectLeaders",
    44: "IncrementalAlterConfigs", 45: "AlterPartitionReassignments",
    46: "ListPartitionReassignments", 47: "OffsetDelete", 48: "DescribeClientQuotas",
    49: "AlterClientQuotas", 50: "DescribeUserScramCredentials",
    51: "AlterUserScramCredentials", 56: "AlterPartition", 57: "UpdateFeatures",
    58: "Envelope", 60: "DescribeCluster", 61: "DescribeProducers",
    65: "DescribeTransactions", 66: "ListTransactions", 67: "AllocateProducerIds",
    68: "ConsumerGroupHeartbeat", 69: "ConsumerGroupDescribe", 71: "GetTelemetrySubscriptions",
    72: "PushTelemetry", 74: "ListClientMetricsResources", 75: "DescribeTopicPartitions",
}

# Announced by Apache 3.9 (ZooKeeper mode), not served by keel yet.
NOT_SERVED = {
    24: "transactions", 25: "transactions", 26: "transactions", 27: "transactions",
    28: "transactions", 61: "transactions", 65: "transactions", 66: "transactions",
    38: "delegation tokens", 39: "delegation tokens", 40: "delegation tokens",
    41: "delegation tokens",
    34: "AlterReplicaLogDirs (moving a replica between log dirs)",
    57: "UpdateFeatures", 58: "Envelope (KRaft forwarding)",
    71: "client telemetry (KIP-714)", 72: "client telemetry (KIP-714)",
    74: "client telemetry (KIP-714)",
    68: "the KIP-848 consumer group protocol", 69: "the KIP-848 consumer group protocol",
}

# API key -> keel's minimum, where it is above Apache 3.9's (Kafka 4's KIP-896
# baseline, which the kafka-protocol crate decodes; older layouts need codecs of
# their own, as protocol/legacy.rs has for Produce, Fetch, ListOffsets, the group
# offsets and the admin requests). Empty: keel reads every version 3.9 reads.
MIN_VERSION_GAPS = {}


def api_versions(bootstrap):
    host, port = bootstrap.rsplit(":", 1)
    with socket.create_connection((host, int(port)), timeout=30) as sock:
        name, version = b"keel-compat", b"1"
        body = (bytes([len(name) + 1]) + name + bytes([len(version) + 1]) + version + b"\x00")
        client_id = b"api-versions-diff"
        header = struct.pack(">hhih", 18, 3, 1, len(client_id)) + client_id + b"\x00"
        payload = header + body
        sock.sendall(struct.pack(">i", len(payload)) + payload)
        size = struct.unpack(">i", recv_exactly(sock, 4))[0]
        frame = recv_exactly(sock, size)
    # response header v0 (ApiVersions answers with v0 headers): correlation id
    position = 4
    error_code = struct.unpack_from(">h", frame, position)[0]
    position += 2
    if error_code != 0:
        raise SystemExit("api_versions_diff: %s answered ApiVersions v3 with error %d"
                         % (bootstrap, error_code))
    count, position = uvarint(frame, position)
    ranges = {}
    for _ in range(count - 1):
        key, low, high = struct.unpack_from(">hhh", frame, position)
        position += 6
        position = skip_tags(frame, position)
        ranges[key] = (low, high)
    return ranges


def recv_exactly(sock, n):
    data = b""
    while len(data) < n:
        chunk = sock.recv(n - len(data))
        if not chunk:
            raise SystemExit("api_versions_diff: connection closed")
        data += chunk
    return data


def uvarint(data, position):
    value, shift = 0, 0
    while True:
        byte = data[position]
        position += 1
        value |= (byte & 0x7F) << shift
        if byte < 0x80:
            return value, position
        shift += 7


def skip_tags(data, position):
    count, position = uvarint(data, position)
    for _ in range(count):
        _, position = uvarint(data, position)
        size, position = uvarint(data, position)
        position += size
    return position


def name(key):
    return "%s(%d)" % (NAMES.get(key, "api"), key)


def main():
    if len(sys.argv) != 3:
        raise SystemExit("usage: api_versions_diff.py REFERENCE_BOOTSTRAP TARGET_BOOTSTRAP")
    reference = api_versions(sys.argv[1])
    target = api_versions(sys.argv[2])
    identical = reference == target
    failures, not_served, min_gaps, extra, higher = [], [], [], [], []
    for key, (ref_min, ref_max) in sorted(reference.items()):
        if key not in target:
            if identical or key in NOT_SERVED:
                not_served.append(name(key))
            else:
                failures.append("%s v%d-%d announced by the reference, not by the target"
                                % (name(key), ref_min, ref_max))
            continue
        low, high = target[key]
        if low > ref_min:
            if MIN_VERSION_GAPS.get(key) == low:
                min_gaps.append("%s v%d-%d" % (name(key), ref_min, low - 1))
            else:
                failures.append("%s: target minimum v%d above the reference's v%d"
                                % (name(key), low, ref_min))
        elif key in MIN_VERSION_GAPS and not identical:
            failures.append("%s: target minimum v%d, no longer a gap: drop it from MIN_VERSION_GAPS"
                            % (name(key), low))
        if high < ref_max:
            failures.append("%s: target maximum v%d below the reference's v%d"
                            % (name(key), high, ref_max))
        elif high > ref_max:
            higher.append("%s v%d>v%d" % (name(key), high, ref_max))
    if not identical:
        for key in sorted(NOT_SERVED):
            if key in target:
                failures.append("%s is served now: drop it from NOT_SERVED" % name(key))
    for key in sorted(set(target) - set(reference)):
        extra.append(name(key))
    if failures:
        for failure in failures:
            print("api_versions_diff: " + failure, file=sys.stderr)
        sys.exit(1)
    print("reference %d APIs, target %d; identical=%s; not served: %d; older versions refused: %s; "
          "newer maximums: %d; extra APIs: %s"
          % (len(reference), len(target), "yes" if identical else "no", len(not_served),
             ", ".join(min_gaps) or "none", len(higher), ", ".join(extra) or "none"))


if __name__ == "__main__":
    main()
