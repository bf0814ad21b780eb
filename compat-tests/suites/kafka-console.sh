# needs: kafka
# clients: tools-4
# timeout: 300
#
# The seed's console session (kafka-topics --create/--list/--describe, the console
# producer and consumer --from-beginning) with the tools of Kafka 4.x, which speak only
# --bootstrap-server.

kafka_client tools-4 kafka_console_session 4
kafka_delete_topics 4 'console-4-.*'
exit "$KAFKA_SUITE_RC"
