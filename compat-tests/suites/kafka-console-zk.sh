# needs: kafka-zk
# clients: tools-3.9 tools-2.2
# timeout: 400
#
# The seed's console session against a broker that keeps its metadata in ZooKeeper:
# with Kafka 3.9 tools (--bootstrap-server), and with the seed's own Kafka 2.2.1 tools in
# the seed's own forms: kafka-topics --zookeeper (create, list, describe write and read
# the broker's znodes directly) and kafka-console-producer --broker-list.

kafka_client tools-3.9 kafka_console_session 3.9
kafka_client tools-2.2 kafka_console_session 2.2
kafka_delete_topics 3.9 'console-(39|22)-.*'
exit "$KAFKA_SUITE_RC"
