// kafka-go: segmentio/kafka-go against one Kafka. kafka.Client creates a topic, three
// kafka.Writers with the default (round-robin) balancer and acks=all write keyed records
// (a third uncompressed, a third snappy, a third gzip), a group kafka.Reader reads each
// record once and commits, kafka.Client checks the committed offsets against the end
// offsets, describes the group (Empty once its member left) and deletes the topic.
//
//	kafka-go -brokers 127.0.0.1:9092 -topic T -group G -records 600 -partitions 3
//
// Prints one summary line and exits 0, or exits 1 with the client's error.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/segmentio/kafka-go"
)

func main() {
	brokers := flag.String("brokers", "127.0.0.1:9092", "comma separated")
	topic := flag.String("topic", "", "topic to create")
	group := flag.String("group", "", "consumer group")
	records := flag.Int("records", 600, "records to produce")
	partitions := flag.Int("partitions", 3, "partitions of the topic")
	deadline := flag.Duration("timeout", 90*time.Second, "overall limit")
	flag.Parse()
	if *topic == "" || *group == "" {
		fail("-topic and -group are required")
	}
	ctx, cancel := context.WithTimeout(context.Background(), *deadline)
	defer cancel()
	seeds := strings.Split(*brokers, ",")
	client := &kafka.Client{Addr: kafka.TCP(seeds...), Timeout: 30 * time.Second}
	errorLog := kafka.LoggerFunc(func(format string, args ...interface{}) {
		fmt.Fprintf(os.Stderr, "kafka-go (client log): "+format+"\n", args...)
	})

	// --- admin: create the topic, wait until every partition has a leader ---
	created, err := client.CreateTopics(ctx, &kafka.CreateTopicsRequest{
		Topics: []kafka.TopicConfig{{Topic: *topic, NumPartitions: *partitions, ReplicationFactor: 1}},
	})
	if err != nil {
		fail("create topic: %v", err)
	}
	if err := created.Errors[*topic]; err != nil {
		fail("create topic %s: %v", *topic, err)
	}
	for attempt := 0; ; attempt++ {
		meta, err := client.Metadata(ctx, &kafka.MetadataRequest{Topics: []string{*topic}})
		if err != nil {
			fail("metadata: %v", err)
		}
		problem := ""
		switch {
		case len(meta.Topics) != 1:
			problem = fmt.Sprintf("metadata lists %d topics for %s", len(meta.Topics), *topic)
		case meta.Topics[0].Error != nil:
			problem = fmt.Sprintf("topic %s: %v", *topic, meta.Topics[0].Error)
		case len(meta.Topics[0].Partitions) != *partitions:
			problem = fmt.Sprintf("topic %s has %d partitions, want %d", *topic, len(meta.Topics[0].Partitions), *partitions)
		default:
			for _, p := range meta.Topics[0].Partitions {
				if p.Error != nil || p.Leader.Host == "" {
					problem = fmt.Sprintf("partition %d has no leader (%v)", p.ID, p.Error)
				}
			}
		}
		if problem == "" {
			break
		}
		if attempt >= 50 {
			fail("after create: %s", problem)
		}
		time.Sleep(200 * time.Millisecond)
	}

	// --- produce: default balancer, acks=all; none, snappy and gzip in turn ---
	codecs := []struct {
		name  string
		codec kafka.Compression
	}{{"none", 0}, {"snappy", kafka.Snappy}, {"gzip", kafka.Gzip}}
	per := (*records + len(codecs) - 1) / len(codecs)
	for c, codec := range codecs {
		w := &kafka.Writer{
			Addr:         kafka.TCP(seeds...),
			Topic:        *topic,
			RequiredAcks: kafka.RequireAll,
			Compression:  codec.codec,
			BatchTimeout: 50 * time.Millisecond,
			ErrorLogger:  errorLog,
		}
		var msgs []kafka.Message
		for i := c * per; i < (c+1)*per && i < *records; i++ {
			msgs = append(msgs, kafka.Message{
				Key:     []byte(fmt.Sprintf("key-%d", i%37)),
				Value:   []byte(fmt.Sprintf("value-%d", i)),
				Headers: []kafka.Header{{Key: "codec", Value: []byte(codec.name)}},
			})
		}
		if err := w.WriteMessages(ctx, msgs...); err != nil {
			var werrs kafka.WriteErrors
			if errors.As(err, &werrs) {
				for i, e := range werrs {
					if e != nil {
						fail("produce (%s): record %d of the batch: %v (%d of %d records failed)", codec.name, i, e, werrs.Count(), len(werrs))
					}
				}
			}
			fail("produce (%s): %v", codec.name, err)
		}
		if err := w.Close(); err != nil {
			fail("close writer (%s): %v", codec.name, err)
		}
	}

	// --- consume in a group from the start, commit, leave ---
	reader := kafka.NewReader(kafka.ReaderConfig{
		Brokers:     seeds,
		GroupID:     *group,
		Topic:       *topic,
		StartOffset: kafka.FirstOffset,
		MaxWait:     500 * time.Millisecond,
		ErrorLogger: errorLog,
	})
	seen := make(map[string]bool, *records)
	last := map[int]kafka.Message{}
	perCodec := map[string]int{}
	for len(seen) < *records {
		m, err := reader.FetchMessage(ctx)
		if err != nil {
			fail("fetch after %d of %d records: %v", len(seen), *records, err)
		}
		if prev, ok := last[m.Partition]; ok && m.Offset <= prev.Offset {
			fail("partition %d went back from offset %d to %d", m.Partition, prev.Offset, m.Offset)
		}
		last[m.Partition] = m
		v := string(m.Value)
		if seen[v] {
			fail("record %q consumed twice", v)
		}
		var n int
		if _, err := fmt.Sscanf(v, "value-%d", &n); err != nil || string(m.Key) != fmt.Sprintf("key-%d", n%37) {
			fail("record at partition %d offset %d: key %q value %q do not match", m.Partition, m.Offset, m.Key, v)
		}
		if len(m.Headers) != 1 || m.Headers[0].Key != "codec" || string(m.Headers[0].Value) != codecs[n/per].name {
			fail("record %q: headers %v, want codec=%s", v, m.Headers, codecs[n/per].name)
		}
		perCodec[codecs[n/per].name]++
		seen[v] = true
	}
	var tails []kafka.Message
	for _, m := range last {
		tails = append(tails, m)
	}
	if err := reader.CommitMessages(ctx, tails...); err != nil {
		fail("commit: %v", err)
	}
	if err := reader.Close(); err != nil { // leaves the group
		fail("close reader: %v", err)
	}

	// --- admin: committed offsets, end offsets, group state, delete ---
	var ask []kafka.OffsetRequest
	var ids []int
	for p := 0; p < *partitions; p++ {
		ask = append(ask, kafka.LastOffsetOf(p))
		ids = append(ids, p)
	}
	ends, err := client.ListOffsets(ctx, &kafka.ListOffsetsRequest{Topics: map[string][]kafka.OffsetRequest{*topic: ask}})
	if err != nil {
		fail("list end offsets: %v", err)
	}
	committed, err := client.OffsetFetch(ctx, &kafka.OffsetFetchRequest{GroupID: *group, Topics: map[string][]int{*topic: ids}})
	if err != nil {
		fail("fetch committed offsets: %v", err)
	}
	if committed.Error != nil {
		fail("fetch committed offsets: %v", committed.Error)
	}
	at := map[int]int64{}
	for _, c := range committed.Topics[*topic] {
		if c.Error != nil {
			fail("committed offset of partition %d: %v", c.Partition, c.Error)
		}
		at[c.Partition] = c.CommittedOffset
	}
	var total int64
	var mismatch, spread []string
	endList := ends.Topics[*topic]
	sort.Slice(endList, func(i, j int) bool { return endList[i].Partition < endList[j].Partition })
	for _, e := range endList {
		if e.Error != nil {
			fail("end offset of partition %d: %v", e.Partition, e.Error)
		}
		total += e.LastOffset
		spread = append(spread, fmt.Sprintf("p%d:%d", e.Partition, e.LastOffset))
		if c, ok := at[e.Partition]; !ok || c != e.LastOffset {
			mismatch = append(mismatch, fmt.Sprintf("p%d committed %d (present %v) end %d", e.Partition, c, ok, e.LastOffset))
		}
	}
	if len(endList) != *partitions || total != int64(*records) || len(mismatch) > 0 {
		fail("offsets: %d partitions, end offsets sum to %d (want %d); %v", len(endList), total, *records, mismatch)
	}
	if len(last) != *partitions {
		fail("records landed in %d of %d partitions", len(last), *partitions)
	}
	groups, err := client.DescribeGroups(ctx, &kafka.DescribeGroupsRequest{GroupIDs: []string{*group}})
	if err != nil {
		fail("describe group: %v", err)
	}
	if len(groups.Groups) != 1 || groups.Groups[0].Error != nil {
		fail("describe group %s: %+v", *group, groups.Groups)
	}
	if st := groups.Groups[0].GroupState; st != "Empty" {
		fail("group %s is %q after its only member left, want Empty", *group, st)
	}
	deleted, err := client.DeleteTopics(ctx, &kafka.DeleteTopicsRequest{Topics: []string{*topic}})
	if err != nil {
		fail("delete topic: %v", err)
	}
	if err := deleted.Errors[*topic]; err != nil {
		fail("delete topic: %v", err)
	}
	fmt.Printf("%d keyed records over %d partitions (%s), default balancer, acks=all, none/snappy/gzip %d/%d/%d, consumed once each in group %s, committed = end offsets, group Empty, topic deleted\n",
		*records, *partitions, strings.Join(spread, " "), perCodec["none"], perCodec["snappy"], perCodec["gzip"], *group)
}

func fail(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "kafka-go: "+format+"\n", args...)
	os.Exit(1)
}
