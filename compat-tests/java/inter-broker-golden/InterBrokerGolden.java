// Prints, as `name=hex` lines, the bytes Apache Kafka 3.9's own generated message
// classes write for the ZooKeeper-mode controller-to-broker requests and their
// responses (LeaderAndIsr, StopReplica, UpdateMetadata, ControlledShutdown) and for
// AlterPartition, at every version Kafka 3.9 defines, plus request and response
// headers. keel's inter-broker codec tests decode each line, check the values set
// below, and re-encode it byte for byte
// (tests/fixtures/kafka-inter-broker/golden.txt).
//
// Run with compat-tests/java/inter-broker-golden/generate (kafka-clients at
// versions.env's KAFKA_ZK_VERSION, from Maven Central). Every value is fixed, so the
// output is the same on every run.
//
// Line names: <api>_<request|response>_v<N>[_<variant>] for bodies,
// <api>_request_header_v<N> / <api>_response_header_v<N> for headers.
// The values mirror what the Rust tests assert; change both together.

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;

import org.apache.kafka.common.Uuid;
import org.apache.kafka.common.message.AllocateProducerIdsRequestData;
import org.apache.kafka.common.message.AllocateProducerIdsResponseData;
import org.apache.kafka.common.message.AlterPartitionRequestData;
import org.apache.kafka.common.message.AlterPartitionResponseData;
import org.apache.kafka.common.message.ControlledShutdownRequestData;
import org.apache.kafka.common.message.ControlledShutdownResponseData;
import org.apache.kafka.common.message.FetchRequestData;
import org.apache.kafka.common.message.FetchResponseData;
import org.apache.kafka.common.message.LeaderAndIsrRequestData;
import org.apache.kafka.common.message.LeaderAndIsrRequestData.LeaderAndIsrLiveLeader;
import org.apache.kafka.common.message.LeaderAndIsrRequestData.LeaderAndIsrPartitionState;
import org.apache.kafka.common.message.LeaderAndIsrRequestData.LeaderAndIsrTopicState;
import org.apache.kafka.common.message.LeaderAndIsrResponseData;
import org.apache.kafka.common.message.LeaderAndIsrResponseData.LeaderAndIsrPartitionError;
import org.apache.kafka.common.message.LeaderAndIsrResponseData.LeaderAndIsrTopicError;
import org.apache.kafka.common.message.LeaderAndIsrResponseData.LeaderAndIsrTopicErrorCollection;
import org.apache.kafka.common.message.ListOffsetsRequestData;
import org.apache.kafka.common.message.ListOffsetsResponseData;
import org.apache.kafka.common.message.OffsetForLeaderEpochRequestData;
import org.apache.kafka.common.message.OffsetForLeaderEpochResponseData;
import org.apache.kafka.common.message.RequestHeaderData;
import org.apache.kafka.common.message.ResponseHeaderData;
import org.apache.kafka.common.message.StopReplicaRequestData;
import org.apache.kafka.common.message.StopReplicaRequestData.StopReplicaPartitionState;
import org.apache.kafka.common.message.StopReplicaRequestData.StopReplicaPartitionV0;
import org.apache.kafka.common.message.StopReplicaRequestData.StopReplicaTopicState;
import org.apache.kafka.common.message.StopReplicaRequestData.StopReplicaTopicV1;
import org.apache.kafka.common.message.StopReplicaResponseData;
import org.apache.kafka.common.message.StopReplicaResponseData.StopReplicaPartitionError;
import org.apache.kafka.common.message.UpdateMetadataRequestData;
import org.apache.kafka.common.message.UpdateMetadataRequestData.UpdateMetadataBroker;
import org.apache.kafka.common.message.UpdateMetadataRequestData.UpdateMetadataEndpoint;
import org.apache.kafka.common.message.UpdateMetadataRequestData.UpdateMetadataPartitionState;
import org.apache.kafka.common.message.UpdateMetadataRequestData.UpdateMetadataTopicState;
import org.apache.kafka.common.message.UpdateMetadataResponseData;
import org.apache.kafka.common.protocol.ApiKeys;
import org.apache.kafka.common.protocol.ApiMessage;
import org.apache.kafka.common.protocol.Message;
import org.apache.kafka.common.protocol.MessageUtil;
import org.apache.kafka.common.protocol.types.RawTaggedField;
import org.apache.kafka.common.record.MemoryRecords;

public class InterBrokerGolden {
    // Topic ids as Apache's Uuid(msb, lsb); the Rust tests use the same numbers.
    static final Uuid ORDERS_ID = new Uuid(0x0123456789abcdefL, 0x1032547698badcfeL);
    static final Uuid AUDIT_ID = new Uuid(0x7e57ab1e00c0ffeeL, 0x00000000deadbeefL);
    static final long BROKER_EPOCH = 0x100000002aL; // a czxid
    static final int CONTROLLER_ID = 1;
    static final int CONTROLLER_EPOCH = 5;
    static final int CORRELATION_ID = 42;

    static void emit(String name, ByteBuffer buffer) {
        StringBuilder hex = new StringBuilder();
        ByteBuffer copy = buffer.duplicate();
        while (copy.hasRemaining()) {
            hex.append(String.format("%02x", copy.get()));
        }
        System.out.println(name + "=" + hex);
    }

    static void emit(String name, Message message, short version) {
        emit(name, MessageUtil.toByteBuffer(message, version));
    }

    static List<Integer> ints(Integer... values) {
        return new ArrayList<>(Arrays.asList(values));
    }

    static void unknownTags(Message message, int firstTag) {
        message.unknownTaggedFields().add(new RawTaggedField(firstTag, new byte[] {0x0a, 0x0b}));
        message.unknownTaggedFields().add(new RawTaggedField(firstTag + 7, new byte[0]));
    }

    static void headers(String api, ApiKeys key) {
        for (short v = key.oldestVersion(); v <= key.latestVersion(); v++) {
            short requestHeaderVersion = key.requestHeaderVersion(v);
            RequestHeaderData request = new RequestHeaderData()
                .setRequestApiKey(key.id)
                .setRequestApiVersion(v)
                .setCorrelationId(CORRELATION_ID)
                .setClientId(requestHeaderVersion >= 1 ? Integer.toString(CONTROLLER_ID) : null);
            emit(api + "_request_header_v" + v, request, requestHeaderVersion);
            ResponseHeaderData response = new ResponseHeaderData().setCorrelationId(CORRELATION_ID);
            emit(api + "_response_header_v" + v, response, key.responseHeaderVersion(v));
        }
    }

    // ---------------------------------------------------------------- LeaderAndIsr

    static LeaderAndIsrPartitionState leaderAndIsrPartition(short v, String topic, int partition, int leader,
            List<Integer> replicas, List<Integer> isr) {
        LeaderAndIsrPartitionState state = new LeaderAndIsrPartitionState()
            .setPartitionIndex(partition)
            .setControllerEpoch(CONTROLLER_EPOCH - 1)
            .setLeader(leader)
            .setLeaderEpoch(10 + partition)
            .setIsr(isr)
            .setPartitionEpoch(20 + partition)
            .setReplicas(replicas);
        if (v <= 1) {
            state.setTopicName(topic);
        }
        if (v >= 1) {
            state.setIsNew(partition == 2);
        }
        if (v >= 3 && partition == 1) {
            state.setAddingReplicas(ints(4)).setRemovingReplicas(ints(3));
        }
        return state;
    }

    static LeaderAndIsrRequestData leaderAndIsrRequest(short v) {
        LeaderAndIsrRequestData data = new LeaderAndIsrRequestData()
            .setControllerId(CONTROLLER_ID)
            .setControllerEpoch(CONTROLLER_EPOCH)
            .setBrokerEpoch(BROKER_EPOCH);
        List<LeaderAndIsrPartitionState> orders = new ArrayList<>();
        orders.add(leaderAndIsrPartition(v, "orders", 0, 1, ints(1, 2, 3), ints(1, 2, 3)));
        orders.add(leaderAndIsrPartition(v, "orders", 1, 2, ints(2, 3, 1, 4), ints(2, 3)));
        orders.add(leaderAndIsrPartition(v, "orders", 2, 3, ints(3, 1, 2), ints(3)));
        List<LeaderAndIsrPartitionState> audit = new ArrayList<>();
        LeaderAndIsrPartitionState recovering = leaderAndIsrPartition(v, "audit-log", 0, 2, ints(2), ints(2));
        if (v >= 6) {
            recovering.setLeaderRecoveryState((byte) 1);
        }
        audit.add(recovering);
        if (v <= 1) {
            List<LeaderAndIsrPartitionState> all = new ArrayList<>(orders);
            all.addAll(audit);
            data.setUngroupedPartitionStates(all);
        } else {
            data.setTopicStates(new ArrayList<>(Arrays.asList(
                new LeaderAndIsrTopicState().setTopicName("orders").setTopicId(ORDERS_ID).setPartitionStates(orders),
                new LeaderAndIsrTopicState().setTopicName("audit-log").setTopicId(AUDIT_ID).setPartitionStates(audit))));
        }
        data.setLiveLeaders(new ArrayList<>(Arrays.asList(
            new LeaderAndIsrLiveLeader().setBrokerId(1).setHostName("broker-1.example").setPort(9092),
            new LeaderAndIsrLiveLeader().setBrokerId(2).setHostName("broker-2.example").setPort(9093),
            new LeaderAndIsrLiveLeader().setBrokerId(3).setHostName("").setPort(9094))));
        return data;
    }

    static LeaderAndIsrResponseData leaderAndIsrResponse(short v) {
        LeaderAndIsrResponseData data = new LeaderAndIsrResponseData().setErrorCode((short) 0);
        if (v <= 4) {
            data.setPartitionErrors(new ArrayList<>(Arrays.asList(
                new LeaderAndIsrPartitionError().setTopicName("orders").setPartitionIndex(0).setErrorCode((short) 0),
                new LeaderAndIsrPartitionError().setTopicName("orders").setPartitionIndex(1).setErrorCode((short) 11),
                new LeaderAndIsrPartitionError().setTopicName("audit-log").setPartitionIndex(0).setErrorCode((short) 56))));
        } else {
            LeaderAndIsrTopicErrorCollection topics = new LeaderAndIsrTopicErrorCollection();
            topics.add(new LeaderAndIsrTopicError().setTopicId(ORDERS_ID).setPartitionErrors(new ArrayList<>(Arrays.asList(
                new LeaderAndIsrPartitionError().setPartitionIndex(0).setErrorCode((short) 0),
                new LeaderAndIsrPartitionError().setPartitionIndex(1).setErrorCode((short) 11)))));
            topics.add(new LeaderAndIsrTopicError().setTopicId(AUDIT_ID).setPartitionErrors(new ArrayList<>(Arrays.asList(
                new LeaderAndIsrPartitionError().setPartitionIndex(0).setErrorCode((short) 56)))));
            data.setTopics(topics);
        }
        return data;
    }

    static void leaderAndIsr() {
        ApiKeys key = ApiKeys.LEADER_AND_ISR;
        headers("leader_and_isr", key);
        for (short v = key.oldestVersion(); v <= key.latestVersion(); v++) {
            emit("leader_and_isr_request_v" + v, leaderAndIsrRequest(v), v);
            emit("leader_and_isr_response_v" + v, leaderAndIsrResponse(v), v);
            emit("leader_and_isr_request_v" + v + "_empty", new LeaderAndIsrRequestData()
                .setControllerId(CONTROLLER_ID).setControllerEpoch(CONTROLLER_EPOCH), v);
            emit("leader_and_isr_response_v" + v + "_error", new LeaderAndIsrResponseData()
                .setErrorCode((short) 77), v);
        }
        // What a KRaft controller sends during a ZooKeeper migration (KIP-866): the
        // fields a ZooKeeper controller leaves at their defaults.
        short v = 7;
        LeaderAndIsrRequestData kraft = leaderAndIsrRequest(v).setIsKRaftController(true).setType((byte) 2);
        emit("leader_and_isr_request_v7_kraft", kraft, v);
        LeaderAndIsrRequestData tagged = leaderAndIsrRequest(v);
        unknownTags(tagged, 0);
        unknownTags(tagged.topicStates().get(0), 3);
        unknownTags(tagged.topicStates().get(0).partitionStates().get(1), 1);
        unknownTags(tagged.liveLeaders().get(2), 5);
        emit("leader_and_isr_request_v7_unknown_tags", tagged, v);
        LeaderAndIsrResponseData taggedResponse = leaderAndIsrResponse(v);
        unknownTags(taggedResponse, 2);
        unknownTags(taggedResponse.topics().find(AUDIT_ID), 4);
        emit("leader_and_isr_response_v7_unknown_tags", taggedResponse, v);
    }

    // ---------------------------------------------------------------- StopReplica

    static StopReplicaRequestData stopReplicaRequest(short v) {
        StopReplicaRequestData data = new StopReplicaRequestData()
            .setControllerId(CONTROLLER_ID)
            .setControllerEpoch(CONTROLLER_EPOCH)
            .setBrokerEpoch(BROKER_EPOCH);
        if (v <= 2) {
            data.setDeletePartitions(true);
        }
        if (v == 0) {
            data.setUngroupedPartitions(new ArrayList<>(Arrays.asList(
                new StopReplicaPartitionV0().setTopicName("orders").setPartitionIndex(0),
                new StopReplicaPartitionV0().setTopicName("orders").setPartitionIndex(2),
                new StopReplicaPartitionV0().setTopicName("audit-log").setPartitionIndex(0))));
        } else if (v <= 2) {
            data.setTopics(new ArrayList<>(Arrays.asList(
                new StopReplicaTopicV1().setName("orders").setPartitionIndexes(ints(0, 2)),
                new StopReplicaTopicV1().setName("audit-log").setPartitionIndexes(ints(0)),
                new StopReplicaTopicV1().setName("empty-topic").setPartitionIndexes(ints()))));
        } else {
            data.setTopicStates(new ArrayList<>(Arrays.asList(
                new StopReplicaTopicState().setTopicName("orders").setPartitionStates(new ArrayList<>(Arrays.asList(
                    new StopReplicaPartitionState().setPartitionIndex(0).setLeaderEpoch(12).setDeletePartition(false),
                    new StopReplicaPartitionState().setPartitionIndex(2).setLeaderEpoch(-1).setDeletePartition(true)))),
                new StopReplicaTopicState().setTopicName("audit-log").setPartitionStates(new ArrayList<>(Arrays.asList(
                    new StopReplicaPartitionState().setPartitionIndex(0).setLeaderEpoch(-2).setDeletePartition(true)))))));
        }
        return data;
    }

    static StopReplicaResponseData stopReplicaResponse() {
        return new StopReplicaResponseData().setErrorCode((short) 0).setPartitionErrors(new ArrayList<>(Arrays.asList(
            new StopReplicaPartitionError().setTopicName("orders").setPartitionIndex(0).setErrorCode((short) 0),
            new StopReplicaPartitionError().setTopicName("orders").setPartitionIndex(2).setErrorCode((short) 74),
            new StopReplicaPartitionError().setTopicName("audit-log").setPartitionIndex(0).setErrorCode((short) 0))));
    }

    static void stopReplica() {
        ApiKeys key = ApiKeys.STOP_REPLICA;
        headers("stop_replica", key);
        for (short v = key.oldestVersion(); v <= key.latestVersion(); v++) {
            emit("stop_replica_request_v" + v, stopReplicaRequest(v), v);
            emit("stop_replica_response_v" + v, stopReplicaResponse(), v);
            emit("stop_replica_request_v" + v + "_empty", new StopReplicaRequestData()
                .setControllerId(CONTROLLER_ID).setControllerEpoch(CONTROLLER_EPOCH), v);
            emit("stop_replica_response_v" + v + "_error", new StopReplicaResponseData()
                .setErrorCode((short) 11), v);
        }
        short v = 4;
        emit("stop_replica_request_v4_kraft", stopReplicaRequest(v).setIsKRaftController(true), v);
        StopReplicaRequestData tagged = stopReplicaRequest(v);
        unknownTags(tagged, 0);
        unknownTags(tagged.topicStates().get(1).partitionStates().get(0), 2);
        emit("stop_replica_request_v4_unknown_tags", tagged, v);
        StopReplicaResponseData taggedResponse = stopReplicaResponse();
        unknownTags(taggedResponse.partitionErrors().get(1), 0);
        emit("stop_replica_response_v4_unknown_tags", taggedResponse, v);
    }

    // ---------------------------------------------------------------- UpdateMetadata

    static UpdateMetadataPartitionState updateMetadataPartition(short v, String topic, int partition, int leader,
            List<Integer> replicas, List<Integer> isr) {
        UpdateMetadataPartitionState state = new UpdateMetadataPartitionState()
            .setPartitionIndex(partition)
            .setControllerEpoch(CONTROLLER_EPOCH - 1)
            .setLeader(leader)
            .setLeaderEpoch(10 + partition)
            .setIsr(isr)
            .setZkVersion(20 + partition)
            .setReplicas(replicas);
        if (v <= 4) {
            state.setTopicName(topic);
        }
        if (v >= 4 && partition == 2) {
            state.setOfflineReplicas(ints(1));
        }
        return state;
    }

    static UpdateMetadataRequestData updateMetadataRequest(short v) {
        UpdateMetadataRequestData data = new UpdateMetadataRequestData()
            .setControllerId(CONTROLLER_ID)
            .setControllerEpoch(CONTROLLER_EPOCH)
            .setBrokerEpoch(BROKER_EPOCH);
        List<UpdateMetadataPartitionState> orders = new ArrayList<>();
        orders.add(updateMetadataPartition(v, "orders", 0, 1, ints(1, 2, 3), ints(1, 2, 3)));
        orders.add(updateMetadataPartition(v, "orders", 1, 2, ints(2, 3, 1), ints(2, 3)));
        orders.add(updateMetadataPartition(v, "orders", 2, 3, ints(3, 1, 2), ints(3, 2)));
        List<UpdateMetadataPartitionState> deleted = new ArrayList<>();
        deleted.add(updateMetadataPartition(v, "audit-log", 0, -2, ints(2), ints(2)));
        if (v <= 4) {
            List<UpdateMetadataPartitionState> all = new ArrayList<>(orders);
            all.addAll(deleted);
            data.setUngroupedPartitionStates(all);
        } else {
            data.setTopicStates(new ArrayList<>(Arrays.asList(
                new UpdateMetadataTopicState().setTopicName("orders").setTopicId(ORDERS_ID).setPartitionStates(orders),
                new UpdateMetadataTopicState().setTopicName("audit-log").setTopicId(Uuid.ZERO_UUID)
                    .setPartitionStates(deleted))));
        }
        List<UpdateMetadataBroker> brokers = new ArrayList<>();
        for (int id = 1; id <= 3; id++) {
            UpdateMetadataBroker broker = new UpdateMetadataBroker().setId(id);
            String host = "broker-" + id + ".example";
            if (v == 0) {
                broker.setV0Host(host).setV0Port(9090 + id);
            } else {
                List<UpdateMetadataEndpoint> endpoints = new ArrayList<>();
                endpoints.add(new UpdateMetadataEndpoint().setPort(9090 + id).setHost(host)
                    .setListener(v >= 3 ? "PLAINTEXT" : "").setSecurityProtocol((short) 0));
                if (id != 3) {
                    endpoints.add(new UpdateMetadataEndpoint().setPort(9190 + id).setHost(host)
                        .setListener(v >= 3 ? "INTERNAL" : "").setSecurityProtocol((short) 3));
                }
                broker.setEndpoints(endpoints);
            }
            if (v >= 2) {
                // Broker 2 has no rack (null), broker 3 an empty one.
                broker.setRack(id == 1 ? "rack-a" : id == 2 ? null : "");
            }
            brokers.add(broker);
        }
        data.setLiveBrokers(brokers);
        return data;
    }

    static void updateMetadata() {
        ApiKeys key = ApiKeys.UPDATE_METADATA;
        headers("update_metadata", key);
        for (short v = key.oldestVersion(); v <= key.latestVersion(); v++) {
            emit("update_metadata_request_v" + v, updateMetadataRequest(v), v);
            emit("update_metadata_response_v" + v, new UpdateMetadataResponseData().setErrorCode((short) 0), v);
            emit("update_metadata_request_v" + v + "_empty", new UpdateMetadataRequestData()
                .setControllerId(CONTROLLER_ID).setControllerEpoch(CONTROLLER_EPOCH), v);
            emit("update_metadata_response_v" + v + "_error", new UpdateMetadataResponseData()
                .setErrorCode((short) 11), v);
        }
        short v = 8;
        // A KRaft controller in migration: isKRaftController and the tagged Type (tag 0).
        emit("update_metadata_request_v8_kraft",
            updateMetadataRequest(v).setIsKRaftController(true).setType((byte) 2), v);
        UpdateMetadataRequestData tagged = updateMetadataRequest(v).setType((byte) 1);
        unknownTags(tagged, 1); // tags 1 and 8, after the known tag 0
        unknownTags(tagged.liveBrokers().get(0).endpoints().get(1), 0);
        unknownTags(tagged.topicStates().get(1).partitionStates().get(0), 3);
        emit("update_metadata_request_v8_unknown_tags", tagged, v);
        UpdateMetadataResponseData taggedResponse = new UpdateMetadataResponseData();
        unknownTags(taggedResponse, 0);
        emit("update_metadata_response_v8_unknown_tags", taggedResponse, v);
    }

    // ---------------------------------------------------------------- ControlledShutdown

    static ControlledShutdownResponseData controlledShutdownResponse() {
        ControlledShutdownResponseData.RemainingPartitionCollection remaining =
            new ControlledShutdownResponseData.RemainingPartitionCollection();
        remaining.add(new ControlledShutdownResponseData.RemainingPartition().setTopicName("orders").setPartitionIndex(1));
        remaining.add(new ControlledShutdownResponseData.RemainingPartition().setTopicName("orders").setPartitionIndex(0));
        remaining.add(new ControlledShutdownResponseData.RemainingPartition().setTopicName("audit-log").setPartitionIndex(0));
        return new ControlledShutdownResponseData().setErrorCode((short) 0).setRemainingPartitions(remaining);
    }

    static void controlledShutdown() {
        ApiKeys key = ApiKeys.CONTROLLED_SHUTDOWN;
        headers("controlled_shutdown", key);
        for (short v = key.oldestVersion(); v <= key.latestVersion(); v++) {
            emit("controlled_shutdown_request_v" + v,
                new ControlledShutdownRequestData().setBrokerId(2).setBrokerEpoch(BROKER_EPOCH), v);
            emit("controlled_shutdown_response_v" + v, controlledShutdownResponse(), v);
            emit("controlled_shutdown_response_v" + v + "_error", new ControlledShutdownResponseData()
                .setErrorCode((short) 77), v);
        }
        short v = 3;
        ControlledShutdownRequestData tagged = new ControlledShutdownRequestData().setBrokerId(2).setBrokerEpoch(-1);
        unknownTags(tagged, 0);
        emit("controlled_shutdown_request_v3_unknown_tags", tagged, v);
        ControlledShutdownResponseData taggedResponse = controlledShutdownResponse();
        unknownTags(taggedResponse.remainingPartitions().find("orders", 0), 1);
        emit("controlled_shutdown_response_v3_unknown_tags", taggedResponse, v);
    }

    // ---------------------------------------------------------------- AlterPartition

    static AlterPartitionRequestData alterPartitionRequest(short v) {
        List<AlterPartitionRequestData.PartitionData> partitions = new ArrayList<>();
        for (int p = 0; p < 2; p++) {
            AlterPartitionRequestData.PartitionData partition = new AlterPartitionRequestData.PartitionData()
                .setPartitionIndex(p)
                .setLeaderEpoch(10 + p)
                .setPartitionEpoch(20 + p);
            if (v <= 2) {
                partition.setNewIsr(p == 0 ? ints(1, 2, 3) : ints(2));
            } else {
                List<AlterPartitionRequestData.BrokerState> isr = new ArrayList<>();
                for (int id : p == 0 ? new int[] {1, 2, 3} : new int[] {2}) {
                    isr.add(new AlterPartitionRequestData.BrokerState().setBrokerId(id).setBrokerEpoch(id == 2 ? 77L : -1L));
                }
                partition.setNewIsrWithEpochs(isr);
            }
            if (v >= 1 && p == 1) {
                partition.setLeaderRecoveryState((byte) 1);
            }
            partitions.add(partition);
        }
        AlterPartitionRequestData.TopicData topic = new AlterPartitionRequestData.TopicData().setPartitions(partitions);
        if (v <= 1) {
            topic.setTopicName("orders");
        } else {
            topic.setTopicId(ORDERS_ID);
        }
        return new AlterPartitionRequestData().setBrokerId(2).setBrokerEpoch(BROKER_EPOCH)
            .setTopics(new ArrayList<>(Collections.singletonList(topic)));
    }

    static AlterPartitionResponseData alterPartitionResponse(short v) {
        List<AlterPartitionResponseData.PartitionData> partitions = new ArrayList<>();
        partitions.add(new AlterPartitionResponseData.PartitionData().setPartitionIndex(0).setErrorCode((short) 0)
            .setLeaderId(2).setLeaderEpoch(10).setIsr(ints(1, 2, 3)).setPartitionEpoch(21));
        partitions.add(new AlterPartitionResponseData.PartitionData().setPartitionIndex(1).setErrorCode((short) 95)
            .setLeaderId(-1).setLeaderEpoch(-1).setIsr(ints()).setLeaderRecoveryState((byte) (v >= 1 ? 1 : 0))
            .setPartitionEpoch(-1));
        AlterPartitionResponseData.TopicData topic = new AlterPartitionResponseData.TopicData().setPartitions(partitions);
        if (v <= 1) {
            topic.setTopicName("orders");
        } else {
            topic.setTopicId(ORDERS_ID);
        }
        return new AlterPartitionResponseData().setThrottleTimeMs(0).setErrorCode((short) 0)
            .setTopics(new ArrayList<>(Collections.singletonList(topic)));
    }

    static void alterPartition() {
        ApiKeys key = ApiKeys.ALTER_PARTITION;
        headers("alter_partition", key);
        for (short v = key.oldestVersion(); v <= key.latestVersion(); v++) {
            emit("alter_partition_request_v" + v, alterPartitionRequest(v), v);
            emit("alter_partition_response_v" + v, alterPartitionResponse(v), v);
            emit("alter_partition_response_v" + v + "_error", new AlterPartitionResponseData()
                .setThrottleTimeMs(100).setErrorCode((short) 41), v);
        }
        short v = 3;
        AlterPartitionRequestData tagged = alterPartitionRequest(v);
        unknownTags(tagged.topics().get(0).partitions().get(0).newIsrWithEpochs().get(1), 0);
        emit("alter_partition_request_v3_unknown_tags", tagged, v);
    }

    // ---------------------------------------------------------------- crate checks
    // Inter-broker messages the kafka-protocol crate already reads, at the versions
    // an Apache 3.9 ZooKeeper-mode broker pins (MetadataVersion IBP_3_9_IV0): keel's
    // tests decode them with the crate to prove it. Named crate_* so the
    // inter_broker codec tests skip them.

    static void crateChecks() {
        // A follower's fetch: ReplicaState (tagged, tag 1) instead of ReplicaId.
        FetchRequestData fetch = new FetchRequestData()
            .setReplicaState(new FetchRequestData.ReplicaState().setReplicaId(2).setReplicaEpoch(BROKER_EPOCH))
            .setMaxWaitMs(500).setMinBytes(1).setMaxBytes(10 * 1024 * 1024).setIsolationLevel((byte) 0)
            .setSessionId(0).setSessionEpoch(-1)
            .setTopics(new ArrayList<>(Collections.singletonList(new FetchRequestData.FetchTopic()
                .setTopicId(ORDERS_ID)
                .setPartitions(new ArrayList<>(Arrays.asList(
                    new FetchRequestData.FetchPartition().setPartition(0).setCurrentLeaderEpoch(10)
                        .setFetchOffset(1234).setLastFetchedEpoch(9).setLogStartOffset(0)
                        .setPartitionMaxBytes(1024 * 1024),
                    new FetchRequestData.FetchPartition().setPartition(1).setCurrentLeaderEpoch(11)
                        .setFetchOffset(0).setLastFetchedEpoch(-1).setLogStartOffset(0)
                        .setPartitionMaxBytes(1024 * 1024)))))))
            .setRackId("");
        emit("crate_fetch_request_v17", fetch, (short) 17);
        // The follower falls back to v12 (topic names, ReplicaId) for a topic without an id.
        FetchRequestData fetch12 = new FetchRequestData().setReplicaId(2)
            .setMaxWaitMs(500).setMinBytes(1).setMaxBytes(10 * 1024 * 1024)
            .setSessionId(0).setSessionEpoch(-1)
            .setTopics(new ArrayList<>(Collections.singletonList(new FetchRequestData.FetchTopic()
                .setTopic("orders")
                .setPartitions(new ArrayList<>(Collections.singletonList(
                    new FetchRequestData.FetchPartition().setPartition(0).setCurrentLeaderEpoch(10)
                        .setFetchOffset(1234).setLastFetchedEpoch(9).setLogStartOffset(0)
                        .setPartitionMaxBytes(1024 * 1024)))))));
        emit("crate_fetch_request_v12", fetch12, (short) 12);
        FetchResponseData fetchResponse = new FetchResponseData().setThrottleTimeMs(0).setErrorCode((short) 0)
            .setSessionId(0)
            .setResponses(new ArrayList<>(Collections.singletonList(new FetchResponseData.FetchableTopicResponse()
                .setTopicId(ORDERS_ID)
                .setPartitions(new ArrayList<>(Collections.singletonList(new FetchResponseData.PartitionData()
                    .setPartitionIndex(0).setErrorCode((short) 0).setHighWatermark(1200).setLastStableOffset(1200)
                    .setLogStartOffset(0)
                    .setDivergingEpoch(new FetchResponseData.EpochEndOffset().setEpoch(8).setEndOffset(1100))
                    .setPreferredReadReplica(-1)
                    .setRecords(MemoryRecords.EMPTY)))))));
        emit("crate_fetch_response_v17", fetchResponse, (short) 17);

        OffsetForLeaderEpochRequestData.OffsetForLeaderTopicCollection epochTopics =
            new OffsetForLeaderEpochRequestData.OffsetForLeaderTopicCollection();
        epochTopics.add(new OffsetForLeaderEpochRequestData.OffsetForLeaderTopic().setTopic("orders")
            .setPartitions(new ArrayList<>(Collections.singletonList(
                new OffsetForLeaderEpochRequestData.OffsetForLeaderPartition().setPartition(0)
                    .setCurrentLeaderEpoch(10).setLeaderEpoch(9)))));
        emit("crate_offset_for_leader_epoch_request_v4",
            new OffsetForLeaderEpochRequestData().setReplicaId(2).setTopics(epochTopics), (short) 4);
        OffsetForLeaderEpochResponseData.OffsetForLeaderTopicResultCollection epochResults =
            new OffsetForLeaderEpochResponseData.OffsetForLeaderTopicResultCollection();
        epochResults.add(new OffsetForLeaderEpochResponseData.OffsetForLeaderTopicResult().setTopic("orders")
            .setPartitions(new ArrayList<>(Collections.singletonList(
                new OffsetForLeaderEpochResponseData.EpochEndOffset().setErrorCode((short) 0).setPartition(0)
                    .setLeaderEpoch(9).setEndOffset(1100)))));
        emit("crate_offset_for_leader_epoch_response_v4",
            new OffsetForLeaderEpochResponseData().setThrottleTimeMs(0).setTopics(epochResults), (short) 4);

        emit("crate_list_offsets_request_v9", new ListOffsetsRequestData().setReplicaId(2).setIsolationLevel((byte) 0)
            .setTopics(new ArrayList<>(Collections.singletonList(new ListOffsetsRequestData.ListOffsetsTopic()
                .setName("orders").setPartitions(new ArrayList<>(Collections.singletonList(
                    new ListOffsetsRequestData.ListOffsetsPartition().setPartitionIndex(0)
                        .setCurrentLeaderEpoch(10).setTimestamp(-1))))))), (short) 9);
        emit("crate_list_offsets_response_v9", new ListOffsetsResponseData().setThrottleTimeMs(0)
            .setTopics(new ArrayList<>(Collections.singletonList(new ListOffsetsResponseData.ListOffsetsTopicResponse()
                .setName("orders").setPartitions(new ArrayList<>(Collections.singletonList(
                    new ListOffsetsResponseData.ListOffsetsPartitionResponse().setPartitionIndex(0)
                        .setErrorCode((short) 0).setTimestamp(-1).setOffset(1234).setLeaderEpoch(10))))))), (short) 9);

        emit("crate_allocate_producer_ids_request_v0",
            new AllocateProducerIdsRequestData().setBrokerId(2).setBrokerEpoch(BROKER_EPOCH), (short) 0);
        emit("crate_allocate_producer_ids_response_v0", new AllocateProducerIdsResponseData().setThrottleTimeMs(0)
            .setErrorCode((short) 0).setProducerIdStart(3000).setProducerIdLen(1000), (short) 0);
    }

    public static void main(String[] args) {
        leaderAndIsr();
        stopReplica();
        updateMetadata();
        controlledShutdown();
        alterPartition();
        crateChecks();
    }
}
